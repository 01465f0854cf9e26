"""The server insert path through clickhouse-driver: the columns ``DriverBackend.insert_arrow``
hands the driver are encoded by the driver's own native-protocol writer for the tables' real
column types, and read back by its reader as the same values (no server runs here)."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.inserts import driver_block, driver_context, driver_read, events_table
from streams.attribution.credits import credit_tables
from streams.journeys.build import Conversion, Journey, Touch
from streams.store.backend import ChdbBackend, columnar
from streams.store.migrations import migrate

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _plain(v: Any) -> Any:
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, datetime):  # read back as a datetime, sent as milliseconds (``columnar``)
        return (v - _EPOCH) // timedelta(milliseconds=1)
    return v


def _round_trip(table: pa.Table, types: list[tuple[str, str]]) -> None:
    ctx = driver_context()
    back = driver_read(ctx, driver_block(ctx, types, columnar(table)))
    sent = columnar(table)  # afresh: the driver's encoder rewrites the lists it is handed
    assert len(back) == len(sent) == table.num_columns
    for (name, _), want, got in zip(types, sent, back, strict=True):
        assert [_plain(v) for v in got] == [_plain(v) for v in want], name


def _types(table: str, columns: list[str]) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        ch = ChdbBackend(Path(tmp) / "ch")
        migrate(ch)
        kinds = {r["name"]: r["type"] for r in ch.query(f"DESCRIBE TABLE {table}")}
        ch.close()
    return [(c, kinds[c]) for c in columns]


def test_the_events_columns_survive_the_drivers_encoder() -> None:
    table, types = events_table(3000)
    assert table.num_rows > 2500
    _round_trip(table, types)


def test_journeys_and_credits_survive_the_drivers_encoder() -> None:
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    journeys = [
        Journey(
            "p1",
            (Touch(at - timedelta(days=2), "web/email"), Touch(at - timedelta(hours=3), "social/instagram/organic")),
            Conversion(at, str(uuid.uuid4()), "pos_purchase", 59.9),
        ),
        Journey("", (), Conversion(at, str(uuid.uuid4()), "order_completed", 10.0)),
    ]
    jtable, ctable = credit_tables(
        journeys, ("linear", "last_touch"), source="live", half_life=timedelta(days=7), now=at
    )
    _round_trip(jtable, _types("journeys", jtable.column_names))
    _round_trip(ctable, _types("attribution_credits", ctable.column_names))
