"""The journeys and credits tables as Arrow: typed like the DDL, and stored as the rules compute them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from streams.attribution.credits import CREDITS_SCHEMA, JOURNEYS_SCHEMA, credit_tables
from streams.attribution.rules import attribute_journey
from streams.journeys.build import Conversion, Journey, Touch
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONV_ID = "6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"


def _journey() -> Journey:
    touches = (Touch(T0, "tv", "e1"), Touch(T0 + timedelta(hours=1), "social_organic", "e2"))
    conv = Conversion(T0 + timedelta(hours=2, milliseconds=250), CONV_ID, "purchase", 120.0)
    return Journey("p1", touches, conv)


@pytest.fixture
def ch(tmp_path: Path) -> Iterator[ChdbBackend]:
    b = ChdbBackend(tmp_path / "ch")
    migrate(b)
    yield b
    b.close()


def test_schemas_follow_the_attribution_ddl(ch: ChdbBackend) -> None:
    arrow_of = {
        "UUID": pa.string(),  # ClickHouse casts the text on insert
        "String": pa.string(),
        "LowCardinality(String)": pa.string(),
        "Float64": pa.float64(),
        "UInt16": pa.uint16(),
        "UInt8": pa.uint8(),
        "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),
        "Array(LowCardinality(String))": pa.list_(pa.string()),
        "Array(DateTime64(3, 'UTC'))": pa.list_(pa.timestamp("ms", tz="UTC")),
    }
    for table, schema in (("journeys", JOURNEYS_SCHEMA), ("attribution_credits", CREDITS_SCHEMA)):
        ddl = [(r["name"], r["type"]) for r in ch.query(f"DESCRIBE TABLE {table}")]
        assert [(f.name, f.type) for f in schema] == [(name, arrow_of[t]) for name, t in ddl], table


def test_credits_are_stored_as_the_rules_compute_them(ch: ChdbBackend) -> None:
    j = _journey()
    now = T0 + timedelta(days=1)
    jt, ct = credit_tables(
        [j, Journey("p2", ())], ["linear", "time_decay"], source="live", half_life=timedelta(days=7), now=now
    )
    ch.insert_arrow("journeys", jt)
    ch.insert_arrow("attribution_credits", ct)
    [row] = ch.query(
        "SELECT toString(conversion_id) AS id, person_id, path, toString(path_times) AS times, touches, "
        "cross_channel, toString(conversion_time) AS t, revenue FROM journeys"
    )
    assert row == {
        "id": CONV_ID,
        "person_id": "p1",
        "path": ["tv", "social_organic"],
        "times": "['2026-03-02 12:00:00.000','2026-03-02 13:00:00.000']",
        "touches": 2,
        "cross_channel": 1,
        "t": "2026-03-02 14:00:00.250",
        "revenue": 120.0,
    }
    stored = {
        (r["model"], r["channel"]): (r["credit"], r["revenue_credit"])
        for r in ch.query("SELECT model, channel, credit, revenue_credit FROM attribution_credits")
    }
    expected = {}
    times = [t.time for t in j.touches]
    for model in ("linear", "time_decay"):
        weights = attribute_journey(
            model, j.path, times, at=T0 + timedelta(hours=2, milliseconds=250), half_life=timedelta(days=7)
        )
        expected |= {(model, ch_): (w, w * 120.0) for ch_, w in weights.items()}
    assert stored == expected
