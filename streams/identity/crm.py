"""CRM and loyalty exports as identity evidence (``parcours load crm``).

Each record becomes links through the same path as events' identities: hashed at the edge
(``streams.identity.pii``), guarded (junk values refused, ``identifiers.extract_values``), sent on
the identity links topic and linked by the single writer, the CRM id verified. A record without
analytics consent links nothing, and a deleted one neither: both are sent as retractions, so that
what an earlier load of the record linked is taken back and the persons it alone held together are
split (``streams.identity.split``). Erasing a customer's data is ``parcours forget``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from pydantic import ValidationError

from schemas.crm import CrmRecord
from streams.errors import TerminalError
from streams.identity.identifiers import Extracted, extract_values
from streams.identity.links import Links
from streams.identity.pii import hash_email, hash_phone, junk_hashes, scrub_text

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CrmFileError(TerminalError):
    """A CRM file that cannot be read at all (unknown format, missing crm_id column)."""


@dataclass
class CrmLoad:
    links: Links = field(default_factory=Links)
    records: int = 0
    linked: int = 0
    no_consent: int = 0
    deleted: int = 0
    retract: list[str] = field(default_factory=list)  # records whose earlier links are taken back
    repeated: int = 0  # records whose crm_id an earlier record had
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


def read_records(path: Path) -> Iterator[tuple[int, dict[str, object] | None, str]]:
    """(line number, raw record or None, why not) per record: CSV with a header (comma, semicolon
    or tab; a UTF-8 byte-order mark as spreadsheets write it), JSON Lines, or one JSON array."""
    suffix = path.suffix.lower()
    if suffix == ".json" and path.read_bytes().lstrip()[:1] == b"[":
        yield from _json_array(path)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        yield from _json_lines(path)
    elif suffix == ".csv":
        yield from _csv(path)
    else:
        raise CrmFileError(f"{path}: a CRM export is .csv, .jsonl or a .json array")


_FIELDS = frozenset(CrmRecord.model_fields)


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, object] | None, str]]:
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                yield n, None, f"not JSON (one record a line, or a .json file holding one array): {err}"
                continue
            yield (n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object")


def _json_array(path: Path) -> Iterator[tuple[int, dict[str, object] | None, str]]:
    try:
        items = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise CrmFileError(f"{path}: not JSON: {err}") from err
    for n, obj in enumerate(items, start=1):  # "line" is the record's position in the array
        yield (n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object")


def _csv(path: Path) -> Iterator[tuple[int, dict[str, object] | None, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        head = f.readline()
        f.seek(0)
        delimiter = max(",;\t", key=head.count)
        reader = csv.DictReader(f, delimiter=delimiter)
        names = [(n or "").strip().lower() for n in reader.fieldnames or ()]
        if "crm_id" not in names:
            raise CrmFileError(f"{path}: the CSV header must name a crm_id column (read: {', '.join(names)})")
        unknown = sorted(set(names) - _FIELDS)
        if unknown:
            raise CrmFileError(f"{path}: unknown columns {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
        reader.fieldnames = names
        for row in reader:
            n = reader.line_num  # the physical line the record ends on (blank lines and quoted breaks counted)
            if None in row:
                yield n, None, f"{len(row[None])} more fields than the header names"
                continue
            yield n, {k: v for k, v in row.items() if v not in (None, "")}, ""


def crm_links(records: Iterable[tuple[int, dict[str, object] | None, str]], pepper: str) -> CrmLoad:
    out = CrmLoad()
    seen: set[str] = set()
    now_us = (datetime.now(UTC) - _EPOCH) // timedelta(microseconds=1)
    for n, raw, why in records:
        out.records += 1
        if raw is None:
            out.refused.append((n, why))
            continue
        try:
            rec = CrmRecord.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            out.refused.append((n, f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}"))
            continue
        if rec.deleted:
            out.deleted += 1
            out.retract.append(f"crm:{rec.crm_id}")
            continue
        if rec.crm_id in seen:
            out.repeated += 1  # its identifiers join the earlier record's: one customer, said so
        seen.add(rec.crm_id)
        if not rec.consent_analytics:
            out.no_consent += 1
            out.retract.append(f"crm:{rec.crm_id}")  # consent withdrawn: what it linked is taken back
            continue
        groups = _groups(rec, pepper)
        for g in groups:
            out.links.groups.append(g)
            out.links.group.append(len(out.links.groups) - 1)
            out.links.event_id.append(f"crm:{rec.crm_id}")
            out.links.event_time_us.append(now_us)
            out.links.conversion.append(False)
        out.linked += 1
    return out


def _groups(rec: CrmRecord, pepper: str) -> list[Extracted]:
    """One group per identifier the record holds, each with the verified CRM id: the graph's
    per-kind caps and guards judge them one by one."""
    email = hash_email(rec.email, pepper) if rec.email else None
    phone = hash_phone(rec.phone, pepper) if rec.phone else None

    def clear(value: str) -> str:  # an e-mail used as an id or a handle: hashed, as events' are
        return scrub_text(value, pepper, phones=False)

    socials = [(n, clear(h)) for n, h in (s.split(":", 1) for s in rec.social)]
    base = {
        "user_id": clear(rec.crm_id),
        "loyalty_id": None,
        "email_hash": None,
        "phone_hash": None,
        "social": None,
        "device_id": None,
        "anonymous_id": None,
        "crm_verified": True,
        "device_shared": False,
    }
    variants = [{"loyalty_id": clear(c)} for c in rec.loyalty_ids] + [{"social": (n, h)} for n, h in socials]
    variants += [{"email_hash": email}] if email else []
    variants += [{"phone_hash": phone}] if phone else []
    junk = junk_hashes(pepper)
    return [extract_values(**{**base, **v}, junk_hashes=junk) for v in variants or [{}]]  # type: ignore[arg-type]
