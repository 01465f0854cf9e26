"""Erasure: remove a person's identifiers, events, journeys and credits.

It runs inside the identity stage, through the same one-partition topic as links, so the
single writer forgets the person in memory and in ClickHouse at one point in the stream:
links that arrived before the request are erased with the person, later events start a new
person that knows nothing of the erased history. The ``erasures`` table records what was done.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from streams.identity.graph import Graph
from streams.settings import Settings
from streams.store.backend import Backend

# (table, condition) — {ids} are the person's identifiers, {pid} the person id.
_DELETES = (
    ("events", "primary_identifier IN {ids:Array(String)} OR hasAny(identifiers, {ids:Array(String)})"),
    ("touches_by_identifier", "primary_identifier IN {ids:Array(String)}"),
    ("identity_map", "identifier IN {ids:Array(String)} OR person_id = {pid:String}"),
    ("identity_links", "identifier_a IN {ids:Array(String)} OR identifier_b IN {ids:Array(String)}"),
    ("journeys", "person_id = {pid:String}"),
    ("attribution_credits", "person_id = {pid:String}"),
)


def control_message(key: str, erasure_id: str) -> dict[str, Any]:
    return {"control": "forget", "key": key, "erasure_id": erasure_id, "requested_at": datetime.now(UTC).isoformat()}


def erase(backend: Backend, graph: Graph, msg: dict[str, Any]) -> dict[str, Any]:
    key = str(msg["key"])
    pid = key if ":" not in key else graph.person_of(key)
    ids = sorted(graph.forget(pid) | ({key} if ":" in key else set()))
    # identifiers ClickHouse knows for this person but memory does not (e.g. after a reload race)
    ids = sorted(
        set(ids)
        | {
            str(r["identifier"])
            for r in backend.query(
                "SELECT identifier FROM identity_current WHERE person_id = {pid:String}", {"pid": pid}
            )
        }
    )
    deleted = 0
    params = {"ids": ids, "pid": pid}
    event_ids = [
        str(r["id"])
        for r in backend.query(f"SELECT toString(event_id) AS id FROM events WHERE {_DELETES[0][1]}", params)
    ]
    for table, cond in _DELETES:
        [n] = backend.query(f"SELECT count() AS n FROM {table} WHERE {cond}", params)
        deleted += int(n["n"])
        backend.execute(f"DELETE FROM {table} WHERE {cond}", params)
    row = {
        "erasure_id": str(msg["erasure_id"]),
        "person_id": pid,
        "identifier_hashes": [hashlib.sha256(i.encode()).hexdigest() for i in ids],
        "requested_at": datetime.fromisoformat(str(msg["requested_at"])).astimezone(UTC),
        "done_at": datetime.now(UTC),
        "rows_deleted": deleted,
    }
    backend.insert("erasures", [row])
    return {**row, "event_ids": event_ids}


def request_erasure(settings: Settings, key: str, *, timeout: float = 120.0) -> dict[str, Any]:
    """Queue an erasure through the identity topic and wait for the identity stage's record."""
    from streams.errors import TransientError
    from streams.ingest.publisher import Publisher
    from streams.read import open_reader

    erasure_id = uuid.uuid4().hex
    with Publisher(settings) as pub:
        pub.publish_control(control_message(key, erasure_id))
    deadline = time.monotonic() + timeout
    reader = open_reader(settings)
    while time.monotonic() < deadline:
        rows = reader.query(
            "SELECT erasure_id, person_id, rows_deleted FROM erasures FINAL WHERE erasure_id = {e:String}",
            {"e": erasure_id},
        )
        if rows:
            return rows[0]
        time.sleep(0.5)
    raise TransientError(
        f"no confirmation within {timeout:.0f} s; erasure {erasure_id} is queued and runs when a worker consumes it"
    )
