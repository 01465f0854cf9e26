"""Cut a person's time-ordered touchpoints and conversions into journeys.

A journey is the touchpoints before a conversion, within the lookback window and after the
person's previous conversion (a conversion resets the path, as in the path tables analysts
exchange, so no touch is credited twice). Touches after the last conversion form the
person's non-converting path, which data-driven models need.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Touch:
    time: datetime
    channel: str
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class Conversion:
    time: datetime
    event_id: str
    type: str
    revenue: float


@dataclass(frozen=True, slots=True)
class Journey:
    person_id: str
    touches: tuple[Touch, ...]
    conversion: Conversion | None = None  # None: a path that did not convert

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t.channel for t in self.touches)

    @property
    def converted(self) -> bool:
        return self.conversion is not None


@dataclass(slots=True)
class PersonTimeline:
    person_id: str
    touches: list[Touch] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)

    def add(self, time: datetime, event_id: str, channel: str, is_conversion: Any, type_: str, revenue: Any) -> None:
        """One stored row: a conversion, a touchpoint (it has a channel), or neither."""
        if is_conversion:
            self.conversions.append(Conversion(time, event_id, type_, float(revenue)))
        elif channel:
            self.touches.append(Touch(time, channel, event_id))


def build_journeys(timeline: PersonTimeline, *, lookback: timedelta, include_null: bool = True) -> list[Journey]:
    touches = sorted(timeline.touches, key=lambda t: (t.time, t.event_id))
    conversions = sorted(timeline.conversions, key=lambda c: (c.time, c.event_id))
    journeys: list[Journey] = []
    i = 0
    prev_time: datetime | None = None
    for conv in conversions:
        path: list[Touch] = []
        while i < len(touches) and touches[i].time <= conv.time:
            t = touches[i]
            if t.time >= conv.time - lookback and (prev_time is None or t.time > prev_time):
                path.append(t)
            i += 1
        journeys.append(Journey(timeline.person_id, tuple(path), conv))
        prev_time = conv.time
    if include_null and i < len(touches):
        journeys.append(Journey(timeline.person_id, tuple(touches[i:]), None))
    return journeys


def group_rows(rows: Iterable[dict[str, Any]]) -> list[PersonTimeline]:
    """Rows from ClickHouse (person_id, event_id, event_time, touch_channel, is_conversion, type,
    revenue) → one timeline per person."""
    people: dict[str, PersonTimeline] = {}
    for r in rows:
        tl = people.get(r["person_id"])
        if tl is None:
            tl = people[r["person_id"]] = PersonTimeline(r["person_id"])
        t = r["event_time"]
        if isinstance(t, str):
            t = parse_ch_time(t)
        tl.add(t, str(r["event_id"]), r["touch_channel"], r["is_conversion"], r["type"], r["revenue"])
    return list(people.values())


def parse_ch_time(value: str) -> datetime:
    """'2026-01-01 10:00:00.123' (UTC, as ClickHouse prints DateTime64(3,'UTC')) → aware datetime."""
    from datetime import UTC

    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def paths_of(journeys: Sequence[Journey]) -> list[tuple[tuple[str, ...], bool, float]]:
    return [(j.path, j.converted, j.conversion.revenue if j.conversion else 0.0) for j in journeys]
