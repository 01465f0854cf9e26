"""Journeys → Arrow tables for the ``journeys`` and ``attribution_credits`` tables.

Live (stream) and batch credits both come from here, so for the same journeys they are equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from streams.attribution.rules import attribute_journey
from streams.journeys.build import Journey
from streams.journeys.taxonomy import family

_TS = pa.timestamp("ms", tz="UTC")
# Typed like 004_attribution.sql (a test compares them with DESCRIBE TABLE); ids travel as text and
# ClickHouse casts them to UUID on insert.
JOURNEYS_SCHEMA = pa.schema(
    [
        ("conversion_id", pa.string()),
        ("source", pa.string()),
        ("person_id", pa.string()),
        ("conversion_type", pa.string()),
        ("conversion_time", _TS),
        ("revenue", pa.float64()),
        ("path", pa.list_(pa.string())),
        ("path_times", pa.list_(_TS)),
        ("touches", pa.uint16()),
        ("cross_channel", pa.uint8()),
        ("computed_at", _TS),
    ]
)
CREDITS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("source", pa.string()),
        ("conversion_id", pa.string()),
        ("person_id", pa.string()),
        ("conversion_time", _TS),
        ("channel", pa.string()),
        ("credit", pa.float64()),
        ("revenue_credit", pa.float64()),
        ("computed_at", _TS),
    ]
)


def credit_tables(
    journeys: Iterable[Journey], models: Sequence[str], *, source: str, half_life: timedelta, now: datetime
) -> tuple[pa.Table, pa.Table]:
    """(journeys table, credits table) for the converting journeys, as Arrow: as JSON rows these
    inserts cost the live stage more than linking did."""
    j_cols: list[list[Any]] = [[] for _ in JOURNEYS_SCHEMA]
    c_cols: list[list[Any]] = [[] for _ in CREDITS_SCHEMA]
    (j_id, j_source, j_person, j_type, j_time, j_revenue, j_path, j_times, j_touches, j_cross, _) = j_cols
    (c_model, c_source, c_id, c_person, c_time, c_channel, c_credit, c_revenue, _) = c_cols
    for j in journeys:
        conv = j.conversion
        if conv is None:
            continue
        at = conv.time.astimezone(UTC)
        times = [t.time for t in j.touches]
        j_id.append(conv.event_id)
        j_person.append(j.person_id)
        j_type.append(conv.type)
        j_time.append(at)
        j_revenue.append(conv.revenue)
        j_path.append(list(j.path))
        j_times.append([t.astimezone(UTC) for t in times])
        j_touches.append(len(j.touches))
        j_cross.append(int(len({family(t.channel) for t in j.touches}) > 1))
        for model in models:
            weights = attribute_journey(model, j.path, times, at=conv.time, half_life=half_life)
            for ch, w in weights.items():
                c_model.append(model)
                c_id.append(conv.event_id)
                c_person.append(j.person_id)
                c_time.append(at)
                c_channel.append(ch)
                c_credit.append(w)
                c_revenue.append(w * conv.revenue)
    j_source += [source] * len(j_id)
    j_cols[-1] += [now] * len(j_id)
    c_source += [source] * len(c_id)
    c_cols[-1] += [now] * len(c_id)
    return (
        pa.table([pa.array(c, f.type) for c, f in zip(j_cols, JOURNEYS_SCHEMA, strict=True)], schema=JOURNEYS_SCHEMA),
        pa.table([pa.array(c, f.type) for c, f in zip(c_cols, CREDITS_SCHEMA, strict=True)], schema=CREDITS_SCHEMA),
    )
