"""Storing a batch of events: the one step the worker and a backfill share.

The events go in as Arrow; free-text phones a producer sent past the edge are hashed first
(``pii.scrub_free_text_phones``). A redelivered batch writes the same rows again: the events
table replaces by key.
"""

from __future__ import annotations

import pyarrow as pa

from streams.identity.pii import scrub_free_text_phones
from streams.settings import Settings
from streams.store.backend import Backend


def store_events(backend: Backend, table: pa.Table, settings: Settings) -> None:
    backend.insert_arrow("events", scrub_free_text_phones(table, settings.pepper()))
