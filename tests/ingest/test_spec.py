"""The native decoder's spec is derived from the pydantic models and the row map, and a column
added to the row map is filled alike by the native and the reference path."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import pyarrow as pa
import pytest
from pydantic import ConfigDict, Field, field_validator

from schemas.events import ALL_EVENTS, EVENT_TYPES
from schemas.events.envelope import _Model
from streams import native
from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.normalize import Normalized, Normalizer, RawItem
from streams.ingest.spec import _Builder, spec
from streams.settings import Settings
from streams.store.layout import EVENTS, F64, STR, Column
from tests.samples import SAMPLES

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_every_event_type_is_in_the_spec_with_every_mapped_column() -> None:
    doc = json.loads(spec())
    assert set(doc["events"]) == set(EVENT_TYPES) and len(ALL_EVENTS) == len(EVENT_TYPES)
    assert [c["name"] for c in doc["columns"]] == [c.name for c in EVENTS if c.sources]
    spot = next(c for c in doc["columns"] if c["name"] == "spot_id")
    assert spot["sources"] == [["properties", "spot_id"], ["context", "tv_spot_id"]]


def test_a_python_validator_without_a_native_equivalent_stops_the_spec() -> None:
    class Odd(_Model):
        code: str

        @field_validator("code")
        @classmethod
        def _odd(cls, v: str) -> str:
            return v

    with pytest.raises(TypeError, match="native"):
        _Builder().struct(Odd)


def test_a_model_config_without_a_native_equivalent_stops_the_spec() -> None:
    class Strict(_Model):
        model_config = ConfigDict(extra="forbid")
        code: str

    with pytest.raises(TypeError, match="native"):
        _Builder().struct(Strict)


def test_a_constraint_without_a_native_equivalent_stops_the_spec() -> None:
    class Multiple(_Model):
        n: Annotated[int, Field(multiple_of=3)]

    with pytest.raises(TypeError, match="native"):
        _Builder().struct(Multiple)


def test_a_datetime_or_uuid_outside_the_envelope_is_unsupported_and_its_events_step_aside() -> None:
    class Booking(_Model):
        at: datetime
        ref: uuid.UUID

    b = _Builder()
    [at, ref] = b.structs[b.struct(Booking)]
    assert at["type"] == ref["type"] == {"k": "unsupported"}


# A column added to the row map, typed, with a fallback path: a nullable float read from the store
# events' dwell time, else the social events' satisfaction rating; and a text from the campaign's
# source, else the referrer. Nothing else changes: not the decoder, not the reference path.
WITH_NEW_COLUMNS = (
    *EVENTS[:-1],
    Column("minutes_or_rating", F64, ("properties.dwell_s", "properties.satisfaction"), nullable=True),
    Column("came_from", STR, ("context.utm_source", "context.referrer")),
    EVENTS[-1],
)


def _table(normalizer: Normalizer, payloads: list[bytes]) -> tuple[Normalized, pa.Table]:
    items = [RawItem(p, f"t/0/{i}", NOW + timedelta(milliseconds=i)) for i, p in enumerate(payloads)]
    out = normalizer.normalize(items)
    table = events_table_or_quarantine(out, normalizer)
    return out, table.drop_columns(["ingested_at"]).sort_by("event_id")


def _event(etype: str, **over: Any) -> bytes:
    return orjson.dumps({**SAMPLES[etype], "event_id": str(uuid.uuid4()), **over})


@pytest.mark.skipif(not native.AVAILABLE, reason="the native decoder is not built")
def test_a_column_added_to_the_row_map_is_filled_alike_by_both_paths() -> None:
    reply = SAMPLES["brand_reply"]["properties"]
    payloads = [
        _event("store_visit", properties={"dwell_s": 420}),
        _event("brand_reply", properties={**reply, "satisfaction": 4}),
        _event("page_view", context={"utm_source": "newsletter", "referrer": "https://x.example"}),
        _event("page_view", context={"referrer": "https://x.example"}),
        _event("page_view"),
    ]
    settings = Settings()
    out, native_rows = _table(Normalizer(settings, columns=WITH_NEW_COLUMNS), payloads)
    _, reference_rows = _table(Normalizer(settings, native=False, columns=WITH_NEW_COLUMNS), payloads)
    assert sum(t.num_rows for t in out.native) == len(payloads), "the native decoder read every event"
    assert native_rows.schema.field("minutes_or_rating").type == pa.float64()
    assert native_rows.to_pylist() == reference_rows.to_pylist()
    by_id = {r["event_id"]: r for r in native_rows.to_pylist()}
    rows = [by_id[orjson.loads(p)["event_id"]] for p in payloads]
    got = [(r["minutes_or_rating"], r["came_from"]) for r in rows]
    assert got[:4] == [(420.0, ""), (4.0, ""), (None, "newsletter"), (None, "https://x.example")]
    assert got[4][0] is None


def test_a_column_nobody_fills_stops_the_normalizer_at_start_up() -> None:
    with pytest.raises(TypeError, match="no sources"):
        Normalizer(Settings(), native=False, columns=(*EVENTS, Column("forgotten", F64)))
