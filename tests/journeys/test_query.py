"""Live-credit reads stay bounded whatever the batch: identifiers go to ClickHouse in chunks of
the backend's ``max_query_ids``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.journeys.build import Conversion, Touch
from streams.journeys.query import timelines_for_identifiers
from streams.store.backend import Backend, ChdbBackend
from streams.store.http import HttpBackend
from streams.store.migrations import migrate
from tests.store.served import store_server

IDS_PER_QUERY = HttpBackend.max_query_ids

T = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["chdb", "store server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "chdb":
        ch = ChdbBackend(tmp_path / "ch")
        migrate(ch)
        yield ch
        ch.close()
    else:
        with store_server(tmp_path / "ch") as http:
            yield http


class Recording(ChdbBackend):
    max_query_ids = IDS_PER_QUERY  # as bounded as the HTTP backend's

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sizes: list[int] = []

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if params and "ids" in params:
            self.sizes.append(len(params["ids"]))
        return super().query(sql, params)


def test_a_thousand_identifiers_are_read_in_bounded_queries(tmp_path: Path) -> None:
    ch = Recording(tmp_path / "ch")
    migrate(ch)
    n = 2 * IDS_PER_QUERY + 123
    ch.insert("events", [_event(i + 1, T, f"anon:ck-{i}", touch_channel="web/email") for i in range(n)])
    person_of = {f"anon:ck-{i}": f"p{i // 2}" for i in range(n)}  # two identifiers a person
    timelines = timelines_for_identifiers(
        ch, person_of, since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert sorted(ch.sizes) == sorted([IDS_PER_QUERY, IDS_PER_QUERY, 123])
    assert len(timelines) == len(set(person_of.values()))
    assert sum(len(tl.touches) for tl in timelines) == n


def test_touches_by_identifier_holds_exactly_the_touchpoints_and_conversions(tmp_path: Path) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    before = {"event_id": str(uuid.uuid4()), "primary_identifier": "anon:old", "touch_channel": "web/direct"}
    common = {"type": "page_view", "channel": "web", "occurred_at": T, "received_at": T, "event_time": T}
    migrate(ch)
    # An install from before 007_touches.sql: its events are copied when the file is applied.
    ch.execute("DROP VIEW touches_by_identifier_mv")
    ch.insert("events", [{**common, **before, "ingested_at": T}])
    ch.execute("DELETE FROM schema_migrations WHERE name = '007_touches.sql'")
    assert migrate(ch, retention_days=400) == ["007_touches.sql"]
    rows = [
        {"primary_identifier": "anon:a", "touch_channel": "web/email"},
        {"primary_identifier": "crm:b", "touch_channel": "", "is_conversion": 1, "revenue": 12.5},
        {"primary_identifier": "anon:c", "touch_channel": ""},  # neither: not a touch
        {"primary_identifier": "", "touch_channel": "web/direct"},  # no identifier (no consent)
    ]
    ch.insert("events", [{**common, "event_id": str(uuid.uuid4()), "ingested_at": T, **r} for r in rows])
    got = ch.query(
        "SELECT primary_identifier, touch_channel, is_conversion, revenue FROM touches_by_identifier "
        "ORDER BY primary_identifier"
    )
    assert got == [
        {"primary_identifier": "anon:a", "touch_channel": "web/email", "is_conversion": 0, "revenue": 0.0},
        {"primary_identifier": "anon:old", "touch_channel": "web/direct", "is_conversion": 0, "revenue": 0.0},
        {"primary_identifier": "crm:b", "touch_channel": "", "is_conversion": 1, "revenue": 12.5},
    ]
    [ddl] = ch.query("SELECT create_table_query AS q FROM system.tables WHERE name = 'touches_by_identifier'")
    assert "TTL" in ddl["q"] and "toIntervalDay(400)" in ddl["q"]


def test_events_are_read_from_since_to_until_inclusive(tmp_path: Path) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    at = {f"2026-03-0{d} 10:00:00.250": f"e{d}" for d in (1, 2, 3, 4)}
    ch.insert(
        "events",
        [_event(d, t, "anon:a", touch_channel=f"web/{name}") for d, (t, name) in enumerate(at.items(), 1)],
    )
    since = datetime(2026, 3, 2, 10, 0, 0, 250_000, tzinfo=UTC)
    until = datetime(2026, 3, 3, 10, 0, 0, 250_999, tzinfo=UTC)  # µs past the stored ms: still in
    [tl] = timelines_for_identifiers(ch, {"anon:a": "p"}, since=since, until=until)
    assert [t.channel for t in tl.touches] == ["web/e2", "web/e3"]


def test_a_history_is_read_alike_through_each_backend_and_without_redeliveries(
    store: Backend,
) -> None:
    """Through chDB and through the store server over HTTP alike: times to the millisecond, revenue
    as a float, and an event stored twice (a redelivery not merged away yet) once."""
    store.execute("SYSTEM STOP MERGES touches_by_identifier")
    touch = _event(1, "2026-03-01 10:00:00.123", "anon:a", touch_channel="web/email")
    conversion = _event(2, "2026-03-02 11:30:00.007", "crm:b", type="purchase", is_conversion=1, revenue=49.9)
    for rows in ([touch, conversion], [touch]):  # two inserts: two parts, the touch in both
        store.insert("events", rows)
    since, until = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    [tl] = timelines_for_identifiers(store, {"anon:a": "p", "crm:b": "p"}, since=since, until=until)
    assert tl.person_id == "p"
    assert tl.touches == [Touch(datetime(2026, 3, 1, 10, 0, 0, 123_000, tzinfo=UTC), "web/email", touch["event_id"])]
    assert tl.conversions == [
        Conversion(datetime(2026, 3, 2, 11, 30, 0, 7_000, tzinfo=UTC), conversion["event_id"], "purchase", 49.9)
    ]
    assert timelines_for_identifiers(store, {"anon:nobody": "q"}, since=since, until=until) == []


def _event(n: int, at: str | datetime, identifier: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=n)),
        "type": "page_view",
        "channel": "web",
        "occurred_at": at,
        "received_at": at,
        "event_time": at,
        "ingested_at": at,
        "primary_identifier": identifier,
        **extra,
    }
