"""Read touchpoints and conversions from ClickHouse, stitched to persons, as timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from streams.journeys.build import PersonTimeline, group_rows
from streams.store.backend import Backend

_COLUMNS = "person_id, toString(event_id) AS event_id, event_time, touch_channel, is_conversion, type, revenue"


def timelines_for_identifiers(backend: Backend, person_of: dict[str, str], *, since: datetime) -> list[PersonTimeline]:
    """Events of the given identifiers (primary identifier → person, from the live graph)."""
    if not person_of:
        return []
    # From the table sorted by identifier (007_touches.sql), not events: there a batch's converters
    # read most of the table. No FINAL (it would merge parts on each call): redeliveries go below.
    sql = (
        "SELECT primary_identifier, toString(event_id) AS event_id, event_time, touch_channel, is_conversion, "
        "type, revenue FROM touches_by_identifier WHERE primary_identifier IN {ids:Array(String)} "
        "AND event_time >= {since:DateTime64(3, 'UTC')}"
    )
    ids = list(person_of)
    n = backend.max_query_ids
    rows = [r for i in range(0, len(ids), n) for r in backend.query(sql, {"ids": ids[i : i + n], "since": _ch(since)})]
    rows = list({r["event_id"]: r for r in rows}.values())
    for r in rows:
        r["person_id"] = person_of[r.pop("primary_identifier")]
    return group_rows(rows)


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
