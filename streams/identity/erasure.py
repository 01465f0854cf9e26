"""Erasure: remove a person's identifiers, events, journeys and credits.

It runs inside the identity stage, through the same one-partition topic as links, so the
single writer forgets the person in memory and in ClickHouse at one point in the stream:
links that arrived before the request are erased with the person, later events start a new
person that knows nothing of the erased history. The ``erasures`` table records what was done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.errors import RefusedErasure
from streams.identity.erased import identifier_hash
from streams.identity.graph import Graph
from streams.identity.identifiers import dead_letter_identifiers, person_key_problem
from streams.store.backend import Backend

# (table, condition) — {ids} are the person's identifiers, {pid} the person id, {dls} the ids of
# the person's dead letters (``_dead_letters``).
_DELETES = (
    ("events", "primary_identifier IN {ids:Array(String)} OR hasAny(identifiers, {ids:Array(String)})"),
    ("touches_by_identifier", "primary_identifier IN {ids:Array(String)}"),
    ("identity_map", "identifier IN {ids:Array(String)} OR person_id = {pid:String}"),
    ("identity_links", "identifier_a IN {ids:Array(String)} OR identifier_b IN {ids:Array(String)}"),
    ("journeys", "person_id = {pid:String}"),
    ("attribution_credits", "person_id = {pid:String}"),
    # Dead letters are refused input: no identifier columns, only the payload (scrubbed at the edge).
    ("dead_letters", "dl_id IN {dls:Array(String)}"),
)
TABLES = tuple(t for t, _ in _DELETES)


def dead_letter_needles(ids: Sequence[str]) -> list[str]:
    """How a dead letter's payload may spell each identifier, to find candidates: as a whole JSON
    string (so a cookie ``ck-1`` does not match ``ck-10``), escaped as JSON writers escape it, and a
    hashed e-mail also as the scrub writes it in text. Candidates are then confirmed by reading the
    payload's identifiers (``_dead_letters``)."""
    out: list[str] = []
    for ident in ids:
        kind, _, value = ident.partition(":")
        values = [value]
        if kind == "social":
            values = [value.split(":", 1)[-1], "@" + value.split(":", 1)[-1]]
        for v in values:
            escaped = json.dumps(v)  # non-ASCII as \uXXXX, as many writers send it
            upper_hex = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), escaped)
            out += dict.fromkeys([f'"{v}"', escaped, upper_hex])
        if kind == "email":
            out.append(f"email_sha256:{value}")
    return list(dict.fromkeys(out))


def _dead_letters(backend: Backend, ids: Sequence[str], event_ids: Sequence[str]) -> list[str]:
    """The person's dead letters: those of their events, and those whose payload names one of
    their identifiers — read from its ``identities`` (exact, case and escapes as the pipeline
    reads them), or, for a payload that does not parse, spelled as a whole JSON string."""
    needles = dead_letter_needles(ids)
    rows = backend.query(
        "SELECT dl_id, event_id, payload FROM dead_letters WHERE event_id IN {eids:Array(String)} "
        "OR arrayExists(n -> position(payload, n) > 0, {needles:Array(String)})",
        {"eids": list(event_ids), "needles": needles},
    )
    wanted, events = set(ids), set(event_ids)
    out = []
    for r in rows:
        payload = str(r["payload"]).encode()
        named = set(dead_letter_identifiers(payload))
        if (
            r["event_id"] in events
            or named & wanted
            or (not _parses(payload) and any(n in str(r["payload"]) for n in needles))
        ):
            out.append(str(r["dl_id"]))
    return out


def _parses(payload: bytes) -> bool:
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return True


def _params(backend: Backend, pid: str, ids: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {"ids": list(ids), "pid": pid}
    params["eids"] = [
        str(r["id"])
        for r in backend.query(f"SELECT toString(event_id) AS id FROM events WHERE {_DELETES[0][1]}", params)
    ]
    params["dls"] = _dead_letters(backend, ids, params["eids"])
    return params


def person_identifiers(backend: Backend, pid: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``known`` and the identifiers ClickHouse maps to ``pid`` (memory may miss some, e.g. after a reload race)."""
    rows = backend.query("SELECT identifier FROM identity_current WHERE person_id = {pid:String}", {"pid": pid})
    return sorted(set(known) | {str(r["identifier"]) for r in rows})


def counts(backend: Backend, pid: str, ids: Sequence[str]) -> dict[str, int]:
    """Rows an erasure of ``pid`` with identifiers ``ids`` deletes, per table (``forget --dry-run``)."""
    params = _params(backend, pid, ids)
    return {t: int(backend.query(f"SELECT count() AS n FROM {t} WHERE {c}", params)[0]["n"]) for t, c in _DELETES}


def control_message(key: str, erasure_id: str) -> dict[str, Any]:
    return {"control": "forget", "key": key, "erasure_id": erasure_id, "requested_at": datetime.now(UTC).isoformat()}


def erase(
    backend: Backend,
    graph: Graph,
    msg: dict[str, Any],
    *,
    pepper: str,
    root_of: Callable[[str], str] = str,
    publish: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Delete the person everywhere in the store, record it (peppered hashes only) and, with
    ``publish``, write the record to the erasures topic before the table: a failure anywhere
    retries the whole erasure, and a record in the table means the topic has it too."""
    key = str(msg["key"])
    if (problem := person_key_problem(key)) is not None:
        raise RefusedErasure(problem)
    pid = key if ":" not in key else graph.person_of(key)
    ids = person_identifiers(backend, pid, graph.forget(pid) | ({key} if ":" in key else set()))
    deleted, event_ids = _delete(backend, pid, ids)
    row = {
        "erasure_id": str(msg["erasure_id"]),
        "person_id": pid,
        "root_person_id": root_of(pid),
        "identifier_hashes": [identifier_hash(i, pepper) for i in ids],
        "requested_at": datetime.fromisoformat(str(msg["requested_at"])).astimezone(UTC),
        "done_at": datetime.now(UTC),
        "rows_deleted": deleted,
    }
    if publish is not None:
        publish(row)
    backend.insert("erasures", [row])
    return {**row, "event_ids": event_ids}


def _delete(backend: Backend, pid: str, ids: Sequence[str]) -> tuple[int, list[str]]:
    """Delete the person's rows everywhere; (rows deleted, the ids of its events)."""
    deleted = 0
    params = _params(backend, pid, ids)
    for table, cond in _DELETES:
        [n] = backend.query(f"SELECT count() AS n FROM {table} WHERE {cond}", params)
        deleted += int(n["n"])
        backend.execute(f"DELETE FROM {table} WHERE {cond}", params)
    return deleted, list(params["eids"])


def reapply(backend: Backend, record: Mapping[str, Any]) -> int:
    """Erase again a person whose erasure the store has no record of: a backup restored from
    before it (a fresh store has nothing to delete). Returns the rows deleted."""
    pid = str(record["person_id"])
    return _delete(backend, pid, person_identifiers(backend, pid))[0]
