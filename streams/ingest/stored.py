"""Storing a batch of events: the one step the worker and a backfill share.

The events go in as Arrow; free-text phones a producer sent past the edge are hashed first
(``pii.scrub_free_text_phones``); conversions without any identifier are credited "no linked
touchpoint" at once (``attribution.unlinked``), since no link will ever reach the identity stage
for them. A redelivered batch writes the same rows again: every table here replaces by key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from streams.attribution.unlinked import unlinked_credit_tables
from streams.ingest.pii import scrub_free_text_phones
from streams.settings import Settings
from streams.store.backend import Backend


def store_events(backend: Backend, table: pa.Table, settings: Settings, *, credits: bool = True) -> None:
    backend.insert_arrow("events", scrub_free_text_phones(table, settings.pepper()))
    if not credits:
        return
    unlinked = unlinked_credit_tables(
        table, settings.live_models, half_life=timedelta(days=settings.half_life_days), now=datetime.now(UTC)
    )
    if unlinked is not None:
        backend.insert_arrow("journeys", unlinked[0])
        backend.insert_arrow("attribution_credits", unlinked[1])
