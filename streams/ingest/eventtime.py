"""Event time from the producer's clocks and ours.

Producers' clocks drift. When an event carries ``sent_at`` (producer clock, at send) and we
know ``received_at`` (our clock, at arrival), the difference estimates the producer's skew
plus transit; we shift ``occurred_at`` by it when it exceeds ``max_skew`` (transit is
small next to the skews worth correcting). The result never lies after ``received_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from schemas.events import InvalidEvent, Reason

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)
# A clock further off than this is not skew but a broken or hostile timestamp.
MAX_CORRECTABLE_SKEW = timedelta(days=366)


class EventTime(NamedTuple):  # a tuple: built once per event, cheaper than a frozen dataclass
    value: datetime  # UTC
    late: bool  # arrived after the lateness allowance: stored, flagged


def derive(
    occurred_at: datetime,
    sent_at: datetime | None,
    received_at: datetime,
    *,
    max_skew: timedelta,
    future_tolerance: timedelta,
    late_allowance: timedelta,
) -> EventTime:
    t = occurred_at
    if sent_at is not None:
        skew = received_at - sent_at
        size = -skew if skew < _ZERO else skew
        if size > MAX_CORRECTABLE_SKEW:
            raise InvalidEvent(Reason.IMPLAUSIBLE_TIME, f"sent_at: {sent_at.isoformat()} is {skew} away from arrival")
        if size > max_skew:
            t = occurred_at + skew
    ahead = t - received_at
    if ahead > future_tolerance:
        raise InvalidEvent(Reason.IMPLAUSIBLE_TIME, f"occurred_at: {occurred_at.isoformat()} is in the future")
    if t < EARLIEST:
        raise InvalidEvent(
            Reason.IMPLAUSIBLE_TIME, f"occurred_at: {occurred_at.isoformat()} is before {EARLIEST.date()}"
        )
    if ahead > _ZERO:
        t, ahead = received_at, _ZERO
    return EventTime(t if t.tzinfo is UTC else t.astimezone(UTC), -ahead > late_allowance)
