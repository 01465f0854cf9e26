"""Read touchpoints and conversions from ClickHouse, stitched to persons, as timelines."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from streams.journeys.build import PersonTimeline, group_rows
from streams.store.backend import Backend

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # + timedelta(milliseconds=…): exact, and C-fast
_MS = timedelta(milliseconds=1)

Window = tuple[str, int, int]  # an identifier's person, and the epoch ms it is read from and to (inclusive)

_COLUMNS = "person_id, toString(event_id) AS event_id, event_time, touch_channel, is_conversion, type, revenue"


class Span(NamedTuple):
    """One person's conversions in a live batch: its identifiers, and the first and last
    conversion's event time in epoch milliseconds (as stored)."""

    identifiers: tuple[str, ...]
    first_ms: int
    last_ms: int


def histories_for_conversions(
    backend: Backend, spans: Mapping[str, Span], *, lookback: timedelta
) -> list[PersonTimeline]:
    """Each person's events that can be in a journey ending at one of its batch conversions.

    A journey holds the touches after the person's previous conversion and within the lookback
    (``build_journeys``), so a person's read starts at its latest conversion before the batch's
    first (kept: it resets the path), or at the first minus the lookback if that is later, and
    ends at its last. Read from the batch's earliest conversion minus the lookback instead, each
    converter's older history came too, one Python object an event: with long histories a credit
    cost nearly twice as much (docs/decisions/live-recrediting.md)."""
    if not spans:
        return []
    window_ms = int(lookback / _MS)
    owner = {i: p for p, s in spans.items() for i in s.identifiers}
    start = {p: s.first_ms - window_ms for p, s in spans.items()}
    before = {i: spans[p].first_ms for i, p in owner.items()}
    for ident, ms in _latest_conversions(backend, before, since=min(start.values())).items():
        start[owner[ident]] = max(start[owner[ident]], ms)
    return timelines_for_identifiers(backend, {i: (p, start[p], spans[p].last_ms) for i, p in owner.items()})


def _latest_conversions(backend: Backend, before: Mapping[str, int], *, since: int) -> dict[str, int]:
    """Identifier → its latest conversion (epoch ms) at or after ``since`` and before its bound."""
    sql = (
        "SELECT primary_identifier AS id, max(toUnixTimestamp64Milli(event_time)) AS ms FROM touches_by_identifier "
        "WHERE primary_identifier IN {ids:Array(String)} AND is_conversion = 1 "
        "AND event_time >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') "
        "AND event_time < fromUnixTimestamp64Milli({until:Int64}, 'UTC') "
        "AND toUnixTimestamp64Milli(event_time) < transform(primary_identifier, {ids:Array(String)}, "
        "{before:Array(Int64)}, toInt64(0)) "
        "GROUP BY primary_identifier"
    )
    out: dict[str, int] = {}
    for ids in _chunks(list(before), backend.max_query_ids):
        bounds = [before[i] for i in ids]
        params = {"ids": ids, "before": bounds, "since": since, "until": max(bounds)}
        out.update((r["id"], int(r["ms"])) for r in backend.query(sql, params))
    return out


def timelines_for_identifiers(backend: Backend, windows: Mapping[str, Window]) -> list[PersonTimeline]:
    """Events of the given identifiers, each identifier → (its person, from, to: epoch ms,
    inclusive), one timeline a person."""
    if not windows:
        return []
    # From the table sorted by identifier (007_touches.sql), not events: there a batch's converters
    # read most of the table. No FINAL (it would merge parts on each call): redeliveries go below.
    # One row per identifier, its events as arrays and times as epoch milliseconds: a dict and a
    # time parsed from text per event were most of a live credit once histories were long.
    # The overall bounds prune partitions and granules; each identifier's own bounds, its rows.
    sql = (
        "SELECT primary_identifier AS id, groupArray((toUnixTimestamp64Milli(event_time), toString(event_id), "
        "touch_channel, is_conversion, type, revenue)) AS events FROM touches_by_identifier "
        "WHERE primary_identifier IN {ids:Array(String)} "
        "AND event_time >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') "
        "AND event_time <= fromUnixTimestamp64Milli({until:Int64}, 'UTC') "
        "AND toUnixTimestamp64Milli(event_time) "
        "BETWEEN transform(primary_identifier, {ids:Array(String)}, {lo:Array(Int64)}, toInt64(0)) "
        "AND transform(primary_identifier, {ids:Array(String)}, {hi:Array(Int64)}, toInt64(0)) "
        "GROUP BY primary_identifier"
    )
    people: dict[str, PersonTimeline] = {}
    seen: set[str] = set()
    for ids in _chunks(list(windows), backend.max_query_ids):
        lo = [windows[i][1] for i in ids]
        hi = [windows[i][2] for i in ids]
        params = {"ids": ids, "lo": lo, "hi": hi, "since": min(lo), "until": max(hi)}
        for row in backend.query(sql, params):
            person = windows[row["id"]][0]
            tl = people.get(person) or people.setdefault(person, PersonTimeline(person))
            for ms, event_id, channel, is_conversion, type_, revenue in row["events"]:
                if event_id not in seen:  # a redelivered event not merged away yet
                    seen.add(event_id)
                    tl.add(_EPOCH + timedelta(milliseconds=int(ms)), event_id, channel, is_conversion, type_, revenue)
    return list(people.values())


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def timelines_between(
    backend: Backend, start: datetime, end: datetime, *, lookback: timedelta, persons: Sequence[str] = ()
) -> list[PersonTimeline]:
    """All persons' touchpoints and conversions from ``start - lookback`` to ``end``, stitched
    through the current identity map (so late merges are reflected)."""
    # Over everyone, conversions no identifier links come too (person ''): each has an empty path
    # and is credited "no linked touchpoint", so that every conversion is counted.
    who = "(person_id != '' OR is_conversion = 1)" if not persons else "person_id IN {persons:Array(String)}"
    sql = (
        f"SELECT {_COLUMNS} FROM events_stitched WHERE {who} "
        "AND event_time >= {lo:DateTime64(3, 'UTC')} AND event_time < {hi:DateTime64(3, 'UTC')} "
        "AND (touch_channel != '' OR is_conversion = 1)"
    )
    window = {"lo": _ch(start - lookback), "hi": _ch(end)}
    n = backend.max_query_ids
    groups = [persons[i : i + n] for i in range(0, len(persons), n)] if persons else [[]]
    return group_rows([r for g in groups for r in backend.query(sql, {**window, "persons": g})])


def _ch(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
