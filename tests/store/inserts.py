"""What both Arrow-insert tests check, on whichever backend: the same rows as the row insert."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyarrow as pa

from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.normalize import Normalizer, RawItem
from streams.settings import Settings
from streams.store.backend import Backend
from tests.conftest import event
from tests.samples import SAMPLES

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def arrow_and_row_inserts(
    backend: Backend, settings: Settings, *, native: bool = True
) -> tuple[list[dict[str, object]], ...]:
    """Every sample event stored once as Arrow (``events``) and once as rows (``events_rows``)."""
    payloads = [orjson.dumps(event(t)) for t in SAMPLES]
    normalizer = Normalizer(settings, native=native)
    out = normalizer.normalize([RawItem(p, f"raw/0/{i}", NOW) for i, p in enumerate(payloads)])
    assert len(out) == len(SAMPLES)  # every type, with and without sent_at, lists, revenue
    assert bool(out.native) == native  # the samples take the native decoder when it is on
    backend.execute("CREATE TABLE events_rows AS events")
    backend.insert_arrow("events", events_table_or_quarantine(out, normalizer))
    backend.insert("events_rows", out.rows)
    q = "SELECT * FROM {t} ORDER BY event_id"
    return backend.query(q.format(t="events")), backend.query(q.format(t="events_rows"))


def stored_twice_in_one_block(backend: Backend, settings: Settings) -> tuple[int, int]:
    """One event twice in one Arrow batch: (rows in ``events``, rows in ``events_dedup``).

    Arrow inserts skip the insert-time collapse (``ARROW_INSERT_SETTINGS``), which a
    ReplacingMergeTree otherwise applies to each block; reads must still see the event once."""
    normalizer = Normalizer(settings)
    out = normalizer.normalize([RawItem(orjson.dumps(event("like")), "raw/0/0", NOW)])
    table = events_table_or_quarantine(out, normalizer)
    backend.insert_arrow("events", pa.concat_tables([table, table]))
    [raw] = backend.query("SELECT count() AS n FROM events")
    [dedup] = backend.query("SELECT count() AS n FROM events_dedup")
    return int(raw["n"]), int(dedup["n"])
