"""Read touchpoints and conversions from ClickHouse, stitched to persons, as timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from streams.journeys.build import PersonTimeline, group_rows
from streams.store.backend import Backend

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # + timedelta(milliseconds=…): exact, and C-fast

_COLUMNS = "person_id, toString(event_id) AS event_id, event_time, touch_channel, is_conversion, type, revenue"


def timelines_for_identifiers(
    backend: Backend, person_of: dict[str, str], *, since: datetime, until: datetime
) -> list[PersonTimeline]:
    """Events of the given identifiers (primary identifier → person, from the live graph) from
    ``since`` to ``until`` inclusive. A journey ends at its conversion, so events after the
    latest conversion credited change none of them: without the bound, each live credit read
    the converter's whole later history too."""
    if not person_of:
        return []
    # From the table sorted by identifier (007_touches.sql), not events: there a batch's converters
    # read most of the table. No FINAL (it would merge parts on each call): redeliveries go below.
    # One row per identifier, its events as arrays and times as epoch milliseconds: a dict and a
    # time parsed from text per event were most of a live credit once histories were long
    # (2M events: 81,300 rows a 33,000-link run, parse 0.96 s of its 3.7 s in cProfile).
    sql = (
        "SELECT primary_identifier AS id, groupArray((toUnixTimestamp64Milli(event_time), toString(event_id), "
        "touch_channel, is_conversion, type, revenue)) AS events FROM touches_by_identifier "
        "WHERE primary_identifier IN {ids:Array(String)} AND event_time >= {since:DateTime64(3, 'UTC')} "
        "AND event_time <= {until:DateTime64(3, 'UTC')} "
        "GROUP BY primary_identifier"
    )
    ids = list(person_of)
    n = backend.max_query_ids
    people: dict[str, PersonTimeline] = {}
    seen: set[str] = set()
    for i in range(0, len(ids), n):
        for row in backend.query(sql, {"ids": ids[i : i + n], "since": _ch(since), "until": _ch(until)}):
            person = person_of[row["id"]]
            tl = people.get(person) or people.setdefault(person, PersonTimeline(person))
            for ms, event_id, channel, is_conversion, type_, revenue in row["events"]:
                if event_id not in seen:  # a redelivered event not merged away yet
                    seen.add(event_id)
                    tl.add(_EPOCH + timedelta(milliseconds=int(ms)), event_id, channel, is_conversion, type_, revenue)
    return list(people.values())


def timelines_between(
    backend: Backend, start: datetime, end: datetime, *, lookback: timedelta, persons: Sequence[str] = ()
) -> list[PersonTimeline]:
    """All persons' touchpoints and conversions from ``start - lookback`` to ``end``, stitched
    through the current identity map (so late merges are reflected)."""
    where = "" if not persons else " AND person_id IN {persons:Array(String)}"
    sql = (
        f"SELECT {_COLUMNS} FROM events_stitched WHERE person_id != '' "
        "AND event_time >= {lo:DateTime64(3, 'UTC')} AND event_time < {hi:DateTime64(3, 'UTC')} "
        f"AND (touch_channel != '' OR is_conversion = 1){where}"
    )
    window = {"lo": _ch(start - lookback), "hi": _ch(end)}
    n = backend.max_query_ids
    groups = [persons[i : i + n] for i in range(0, len(persons), n)] if persons else [[]]
    return group_rows([r for g in groups for r in backend.query(sql, {**window, "persons": g})])


def _ch(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
