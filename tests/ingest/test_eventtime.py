from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.events import InvalidEvent, Reason
from streams.ingest.eventtime import derive

RECV = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
KW = {"max_skew": timedelta(seconds=10), "future_tolerance": timedelta(minutes=5), "late_allowance": timedelta(days=3)}


def test_without_sent_at_occurred_at_is_kept() -> None:
    t = RECV - timedelta(minutes=3)
    assert derive(t, None, RECV, **KW).value == t


def test_small_skew_is_left_alone() -> None:
    occurred = RECV - timedelta(seconds=20)
    sent = RECV - timedelta(seconds=3)  # 3 s of skew + transit: below max_skew
    assert derive(occurred, sent, RECV, **KW).value == occurred


def test_producer_clock_one_hour_fast_is_corrected() -> None:
    # The phone's clock runs 1 h ahead: it says it sent at 13:00 what we received at 12:00.
    fast = timedelta(hours=1)
    occurred = RECV - timedelta(minutes=2) + fast
    sent = RECV + fast
    assert derive(occurred, sent, RECV, **KW).value == RECV - timedelta(minutes=2)


def test_producer_clock_behind_is_corrected_forward() -> None:
    slow = timedelta(minutes=30)
    occurred = RECV - timedelta(seconds=40) - slow
    sent = RECV - slow
    assert derive(occurred, sent, RECV, **KW).value == RECV - timedelta(seconds=40)


def test_other_timezones_are_normalised_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    t = datetime(2026, 3, 2, 12, 30, tzinfo=paris)
    got = derive(t, None, RECV, **KW).value
    assert got == t and got.utcoffset() == timedelta(0)


def test_slightly_future_time_is_clamped_to_arrival() -> None:
    assert derive(RECV + timedelta(minutes=2), None, RECV, **KW).value == RECV


def test_far_future_is_refused() -> None:
    with pytest.raises(InvalidEvent) as exc:
        derive(RECV + timedelta(days=2), None, RECV, **KW)
    assert exc.value.reason is Reason.IMPLAUSIBLE_TIME


def test_before_2000_is_refused() -> None:
    with pytest.raises(InvalidEvent) as exc:
        derive(datetime(1970, 1, 1, tzinfo=UTC), None, RECV, **KW)
    assert exc.value.reason is Reason.IMPLAUSIBLE_TIME


def test_late_events_are_flagged_not_refused() -> None:
    old = derive(RECV - timedelta(days=4), None, RECV, **KW)
    recent = derive(RECV - timedelta(days=2), None, RECV, **KW)
    assert old.late and not recent.late


def test_absurd_sent_at_is_refused_not_an_overflow() -> None:
    # found by hypothesis: a sent_at in year 9999 made the skew correction overflow
    with pytest.raises(InvalidEvent) as exc:
        derive(RECV - timedelta(minutes=1), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), RECV, **KW)
    assert exc.value.reason is Reason.IMPLAUSIBLE_TIME
