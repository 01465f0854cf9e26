"""Journeys → rows for the ``journeys`` and ``attribution_credits`` tables.

Live (stream) and batch credits both come from here, so for the same journeys they are equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.attribution.rules import attribute_journey
from streams.journeys.build import Journey
from streams.journeys.taxonomy import family

# Touch-less conversions are reported under this channel name.


def journey_row(j: Journey, *, source: str, now: datetime) -> dict[str, Any]:
    assert j.conversion is not None
    families = {family(t.channel) for t in j.touches}
    return {
        "conversion_id": j.conversion.event_id,
        "source": source,
        "person_id": j.person_id,
        "conversion_type": j.conversion.type,
        "conversion_time": j.conversion.time.astimezone(UTC),
        "revenue": j.conversion.revenue,
        "path": list(j.path),
        "path_times": [t.time.astimezone(UTC) for t in j.touches],
        "touches": len(j.touches),
        "cross_channel": int(len(families) > 1),
        "computed_at": now,
    }


def credit_rows(
    journeys: Iterable[Journey], models: Sequence[str], *, source: str, half_life: timedelta, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(journey rows, credit rows) for converting journeys."""
    jrows: list[dict[str, Any]] = []
    crows: list[dict[str, Any]] = []
    for j in journeys:
        conv = j.conversion
        if conv is None:
            continue
        jrows.append(journey_row(j, source=source, now=now))
        chans = j.path
        times = [t.time for t in j.touches]
        for model in models:
            weights = attribute_journey(model, chans, times, at=conv.time, half_life=half_life)
            for ch, w in weights.items():
                crows.append(
                    {
                        "model": model,
                        "source": source,
                        "conversion_id": conv.event_id,
                        "person_id": j.person_id,
                        "conversion_time": conv.time.astimezone(UTC),
                        "channel": ch,
                        "credit": w,
                        "revenue_credit": w * conv.revenue,
                        "computed_at": now,
                    }
                )
    return jrows, crows
