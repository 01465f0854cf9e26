"""Live-credit reads stay bounded whatever the batch: identifiers go to ClickHouse in chunks of
the backend's ``max_query_ids``, and each converter's history is read only as far back as its
journeys can reach."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.journeys.build import Conversion, PersonTimeline, Touch, build_journeys
from streams.journeys.query import Span, histories_for_conversions, timelines_for_identifiers
from streams.store.backend import Backend, ChdbBackend
from streams.store.http import HttpBackend
from streams.store.migrations import migrate
from tests.store.served import store_server

IDS_PER_QUERY = HttpBackend.max_query_ids

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
JAN, NEXT_JAN = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)


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
    timelines = timelines_for_identifiers(ch, {i: (p, _ms(JAN), _ms(NEXT_JAN)) for i, p in person_of.items()})
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


def test_each_identifier_is_read_between_its_own_bounds_inclusive(tmp_path: Path) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    at = {f"2026-03-0{d} 10:00:00.250": f"e{d}" for d in (1, 2, 3, 4)}
    for k, ident in enumerate(("anon:a", "anon:b")):
        ch.insert(
            "events", [_event(10 * k + d, t, ident, touch_channel=f"web/{n}") for d, (t, n) in enumerate(at.items())]
        )
    day = 86_400_000
    first = _ms(datetime(2026, 3, 1, 10, 0, 0, 250_000, tzinfo=UTC))
    windows = {"anon:a": ("p", first + day, first + 2 * day), "anon:b": ("q", first + 2 * day, first + 3 * day - 1)}
    got = {tl.person_id: [t.channel for t in tl.touches] for tl in timelines_for_identifiers(ch, windows)}
    assert got == {"p": ["web/e2", "web/e3"], "q": ["web/e3"]}


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
    window = (_ms(datetime(2026, 2, 1, tzinfo=UTC)), _ms(datetime(2026, 4, 1, tzinfo=UTC)))
    [tl] = timelines_for_identifiers(store, {"anon:a": ("p", *window), "crm:b": ("p", *window)})
    assert tl.person_id == "p"
    assert tl.touches == [Touch(datetime(2026, 3, 1, 10, 0, 0, 123_000, tzinfo=UTC), "web/email", touch["event_id"])]
    assert tl.conversions == [
        Conversion(datetime(2026, 3, 2, 11, 30, 0, 7_000, tzinfo=UTC), conversion["event_id"], "purchase", 49.9)
    ]
    assert timelines_for_identifiers(store, {"anon:nobody": ("q", *window)}) == []


def _ms(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


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


def test_a_batch_reads_what_its_journeys_can_hold_and_no_more(tmp_path: Path) -> None:
    """The journeys of any batch's conversions are the journeys the whole history gives them; the
    events before a converter's previous conversion, or after its last in the batch, are not read."""
    store = ChdbBackend(tmp_path / "ch")
    try:
        migrate(store)
        check_batches(store)
    finally:
        store.close()  # chDB serves one path a process: the next test opens its own


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def check_batches(store: ChdbBackend, data: st.DataObject) -> None:
    lookback = timedelta(days=3)
    person = f"p{uuid.uuid4().hex[:8]}"
    idents = (f"anon:{person}", f"crm:{person}")
    offsets = data.draw(st.lists(st.integers(0, 10 * 24 * 60), min_size=1, max_size=30, unique=True))  # minutes
    kinds = data.draw(st.lists(st.booleans(), min_size=len(offsets), max_size=len(offsets)))  # a conversion?
    kinds[-1] = True  # at least one (no examples filtered away)
    rows = [
        _event(
            uuid.uuid4().int,
            T + timedelta(minutes=m),
            idents[m % 2],
            **({"type": "purchase", "is_conversion": 1, "revenue": 1.0} if conv else {"touch_channel": f"web/c{m}"}),
        )
        for m, conv in zip(offsets, kinds, strict=True)
    ]
    store.insert("events", rows)
    conversions = [r for r in rows if r.get("is_conversion")]
    batch = data.draw(st.lists(st.sampled_from(conversions), min_size=1, unique_by=lambda r: r["event_id"]))
    wanted = {r["event_id"] for r in batch}
    times = [_ms(r["event_time"]) for r in batch]
    [tl] = histories_for_conversions(store, {person: Span(idents, min(times), max(times))}, lookback=lookback)
    whole = timelines_for_identifiers(store, {i: (person, _ms(JAN), _ms(NEXT_JAN)) for i in idents})[0]

    def journeys(timeline: PersonTimeline) -> dict[str, tuple[object, ...]]:
        return {
            j.conversion.event_id: j.touches
            for j in build_journeys(timeline, lookback=lookback, include_null=False)
            if j.conversion and j.conversion.event_id in wanted
        }

    assert journeys(tl) == journeys(whole) and len(journeys(tl)) == len(wanted)
    first, last = min(r["event_time"] for r in batch), max(r["event_time"] for r in batch)
    earlier = sorted(c.time for c in whole.conversions if c.time < first)
    start = max([first - lookback, *earlier[-1:]])
    read = sorted([t.time for t in tl.touches] + [c.time for c in tl.conversions])
    expected = sorted(
        t for t in [x.time for x in whole.touches] + [c.time for c in whole.conversions] if start <= t <= last
    )
    assert read == expected


def test_the_longest_identifiers_fit_the_store_servers_request_line(tmp_path: Path) -> None:
    """A full chunk of hashed e-mails (the longest identifiers) with its bounds, through the store
    server, whose request line is limited (HTTP 414 past 65,536 bytes)."""
    n = IDS_PER_QUERY
    idents = [f"email:{uuid.uuid4().hex}{uuid.uuid4().hex}" for _ in range(n)]
    with store_server(tmp_path / "ch") as http:
        http.insert(
            "events", [_event(i + 1, T, ident, is_conversion=1, type="purchase") for i, ident in enumerate(idents)]
        )
        spans = {f"p{i}": Span((ident,), _ms(T), _ms(T)) for i, ident in enumerate(idents)}
        timelines = histories_for_conversions(http, spans, lookback=timedelta(days=30))
    assert sum(len(tl.conversions) for tl in timelines) == n
