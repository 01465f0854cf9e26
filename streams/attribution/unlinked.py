"""Conversions no identifier can ever link (a till sale without card or e-receipt, an order
without consent): credited "no linked touchpoint" as they are stored, so that every conversion is
counted. Ones with an identifier are credited by the live attribution stage (``live``) after the
identity stage links them, and again whenever their person's history changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from streams.attribution.credits import credit_tables
from streams.journeys.build import Conversion, Journey


def unlinked_journeys(events: pa.Table) -> list[Journey]:
    """One empty-path journey per conversion in ``events`` (the events table's Arrow batch) that
    carries no identifier."""
    mask = pc.and_(
        pc.equal(events.column("is_conversion"), 1), pc.equal(pc.list_value_length(events.column("identifiers")), 0)
    )
    rows = events.filter(mask).select(["event_id", "type", "event_time", "revenue"]).to_pylist()
    return [
        Journey("", (), Conversion(r["event_time"], str(r["event_id"]), r["type"], float(r["revenue"]))) for r in rows
    ]


def unlinked_credit_tables(
    events: pa.Table, models: tuple[str, ...], *, half_life: timedelta, now: datetime
) -> tuple[pa.Table, pa.Table] | None:
    journeys = unlinked_journeys(events)
    if not journeys:
        return None
    return credit_tables(journeys, models, source="live", half_life=half_life, now=now)
