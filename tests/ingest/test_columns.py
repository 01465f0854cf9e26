"""The hot path's Arrow insert must store exactly what the row insert stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from streams.ingest.columns import EVENTS_SCHEMA, events_table, events_table_or_quarantine
from streams.ingest.normalize import EVENT_COLUMNS, Normalizer, RawItem
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate
from tests.conftest import event
from tests.samples import SAMPLES
from tests.store.inserts import arrow_and_row_inserts, stored_twice_in_one_block

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_arrow_schema_follows_the_events_ddl(tmp_path: Path) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    ddl = {r["name"]: r["type"] for r in ch.query("DESCRIBE TABLE events")}
    assert list(ddl) == list(EVENT_COLUMNS) == EVENTS_SCHEMA.names
    for f in EVENTS_SCHEMA:
        t = ddl[f.name]
        if f.type == EVENTS_SCHEMA.field("occurred_at").type:
            assert "DateTime64(3, 'UTC')" in t, f.name
            assert t.startswith("Nullable(") == f.nullable, f.name
        elif str(f.type).startswith("list"):
            assert t == "Array(String)", f.name
        elif f.type.id == EVENTS_SCHEMA.field("event_id").type.id:
            assert t in ("String", "UUID", "LowCardinality(String)"), f.name
        else:
            assert t.lower().replace("(", "").replace(")", "") in (str(f.type), "float64"), (f.name, t, f.type)


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_arrow_insert_stores_the_same_rows_as_the_row_insert(tmp_path: Path, settings: Settings, native: bool) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    a, b = arrow_and_row_inserts(ch, settings, native=native)
    assert len(a) == len(SAMPLES) and a == b


def test_an_arrow_batch_is_stored_without_collapsing_and_read_once(tmp_path: Path, settings: Settings) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    assert stored_twice_in_one_block(ch, settings) == (2, 1)


def test_an_empty_batch_is_a_typed_empty_table() -> None:
    t = events_table([])
    assert t.num_rows == 0 and t.schema == EVENTS_SCHEMA


def test_a_record_the_store_cannot_hold_becomes_a_dead_letter_and_the_batch_goes_on(settings: Settings) -> None:
    n = Normalizer(settings, native=False)  # the native decoder builds Arrow arrays: typed by construction
    payloads = [orjson.dumps(event(t)) for t in ("order_completed", "like", "page_view")]
    out = n.normalize([RawItem(p, f"raw/0/{i}", NOW) for i, p in enumerate(payloads)])
    bad_id = out.column("event_id")[0]
    assert len(out.links) >= 1 and out.links.event_id[0] == bad_id
    out.column("schema_version")[0] = 70_000  # past UInt16: Arrow refuses it
    table = events_table_or_quarantine(out, n)
    assert table.num_rows == 2 and len(out) == 2 == len(out.origins) == len(out.records)
    [dl] = out.dead
    assert dl.reason == "processing_error" and "storage refused" in dl.detail
    assert dl.payload == payloads[0] and dl.dl_id == "raw/0/0"
    assert all(link["event_id"] != bad_id for link in out.links.dicts())
