"""CRM and loyalty exports as identity evidence (``parcours load crm``).

Each record becomes links through the same path as events' identities: hashed at the edge
(``streams.ingest.pii``), guarded (junk values refused, ``identifiers.extract_values``), sent on
the identity links topic and linked by the single writer, the CRM id verified. A record without
analytics consent links nothing; a deleted one is not applied (counted: erasing a customer is
``parcours forget``).
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
from streams.ingest.pii import hash_email, hash_phone, junk_hashes

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
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


def read_records(path: Path) -> Iterator[tuple[int, dict[str, object] | None, str]]:
    """(line number, raw record or None, why not) per record: CSV with a header, or JSON Lines."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open("rb") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as err:
                    yield n, None, f"not JSON: {err}"
                    continue
                yield (n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object")
    elif path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "crm_id" not in reader.fieldnames:
                raise CrmFileError(f"{path}: the CSV header must name a crm_id column")
            for n, row in enumerate(reader, start=2):
                yield n, {k: v for k, v in row.items() if k and v not in (None, "")}, ""
    else:
        raise CrmFileError(f"{path}: a CRM export is .csv or .jsonl")


def crm_links(records: Iterable[tuple[int, dict[str, object] | None, str]], pepper: str) -> CrmLoad:
    out = CrmLoad()
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
            continue
        if not rec.consent_analytics:
            out.no_consent += 1
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
    socials = [tuple(s.split(":", 1)) for s in rec.social]
    base = {
        "user_id": rec.crm_id,
        "loyalty_id": None,
        "email_hash": None,
        "phone_hash": None,
        "social": None,
        "device_id": None,
        "anonymous_id": None,
        "crm_verified": True,
        "device_shared": False,
    }
    variants = [{"loyalty_id": c} for c in rec.loyalty_ids] + [{"social": (n, h)} for n, h in socials]
    variants += [{"email_hash": email}] if email else []
    variants += [{"phone_hash": phone}] if phone else []
    junk = junk_hashes(pepper)
    return [extract_values(**{**base, **v}, junk_hashes=junk) for v in variants or [{}]]  # type: ignore[arg-type]
