"""The fast decoder against the pydantic models it is derived from: whatever it accepts, pydantic
accepts and the worker stores the same row, links and dead letters; what it cannot judge it leaves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict, Field, field_validator

from bench.common import corpus
from schemas.events import EVENT_TYPES, InvalidEvent, Reason, fast, parse_event
from schemas.events.envelope import _Model
from streams.ingest.normalize import Normalized, Normalizer, RawItem
from streams.settings import Settings
from tests.ingest.test_fuzz import mutated_sample
from tests.samples import SAMPLES

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _both(payloads: list[bytes]) -> tuple[Normalized, Normalized]:
    items = [RawItem(p, f"t/0/{i}", NOW) for i, p in enumerate(payloads)]
    fast_path = Normalizer(Settings(), fast=True, native=False)  # tests/ingest/test_native.py: the native one
    return fast_path.normalize(items), Normalizer(Settings(), fast=False).normalize(items)


def _same(a: Normalized, b: Normalized) -> None:
    # The last column is the wall-clock ingestion time of the batch.
    assert [r[:-1] for r in a.records] == [r[:-1] for r in b.records]
    assert a.links.dicts() == b.links.dicts()
    assert [(d.reason, d.detail, d.payload) for d in a.dead] == [(d.reason, d.detail, d.payload) for d in b.dead]
    assert a.duplicates == b.duplicates


def _sample(etype: str, **over: Any) -> dict[str, Any]:
    return {**SAMPLES[etype], "event_id": str(uuid.uuid4()), **over}


def test_every_event_type_has_a_struct_and_decodes_its_sample() -> None:
    for etype in EVENT_TYPES:
        ev = fast.decode(orjson.dumps(_sample(etype)))
        assert ev is not None, etype
        assert ev.type == etype


def test_the_simulated_corpus_reads_the_same_on_both_paths() -> None:
    payloads = corpus(3000, persons=300)
    assert all(fast.decode(p) is not None for p in payloads[:200])  # the corpus takes the fast path
    a, b = _both(payloads)
    assert len(a.records) > 2500
    _same(a, b)


@pytest.mark.parametrize(
    ("change", "pydantic_accepts"),
    [
        ({"identities": {"anonymous_id": "  ck-abc123  "}}, True),  # pydantic strips: the row differs
        ({"identities": {"anonymous_id": "   "}}, False),  # empty once stripped
        ({"identities": {"anonymous_id": "\\tck-1"}}, True),
        ({"identities": {"anonymous_id": "ck-1\u00a0"}}, True),  # a non-breaking space is stripped
        ({"occurred_at": "2026-03-02T10:00Z"}, True),  # no seconds: outside the strict pattern
        ({"occurred_at": "2026-03-02T10:00:00.1234567Z"}, True),  # pydantic truncates, msgspec rounds
        ({"occurred_at": "2026-03-02 10:00:00Z"}, True),
        ({"occurred_at": "2026-02-30T10:00:00Z"}, False),
        ({"event_id": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}, True),  # upper case: str(UUID) lowers it
        ({"event_id": "6f9619ff8b86d011b42d00c04fc964ff"}, True),
        ({"context": {"page_url": "https://x"}, "properties": {"title": "NaN"}}, True),
        ({"schema_version": 2}, False),
        ({"type": "teleport"}, False),
    ],
)
def test_what_the_fast_path_leaves_to_pydantic(change: dict[str, Any], pydantic_accepts: bool) -> None:
    raw = orjson.dumps(_sample("page_view", **change)).replace(b"\\\\t", b"\\t")
    if "title" not in str(change):
        assert fast.decode(raw) is None
    if pydantic_accepts:
        parse_event(raw)
    else:
        with pytest.raises(InvalidEvent):
            parse_event(raw)
    _same(*_both([raw]))


def test_a_store_event_without_a_store_is_left_to_pydantic_which_names_it() -> None:
    ev = _sample("item_tried")
    ev["context"] = {**ev["context"], "store_id": None}
    raw = orjson.dumps(ev)
    assert fast.decode(raw) is None
    out = Normalizer(Settings()).normalize([RawItem(raw, "t/0/0", NOW)])
    assert [(d.reason, "store_id" in d.detail) for d in out.dead] == [(Reason.SCHEMA_VIOLATION.value, True)]


def test_properties_are_written_as_pydantic_writes_them() -> None:
    for etype in EVENT_TYPES:
        raw = orjson.dumps(_sample(etype))
        f, p = fast.decode(raw), parse_event(raw)
        if not isinstance(p.properties, dict):  # type: ignore[attr-defined]
            assert fast.encode_properties(f.properties) == p.properties.model_dump_json()  # type: ignore[attr-defined]


@given(st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_events_read_the_same_on_both_paths(data: st.DataObject) -> None:
    raw = orjson.dumps(mutated_sample(data), option=orjson.OPT_NON_STR_KEYS)
    if fast.decode(raw) is not None:
        parse_event(raw)  # accepted by the fast path ⇒ accepted by the spec
    _same(*_both([raw]))


money = st.floats(min_value=0, max_value=1e9, allow_nan=False) | st.integers(0, 10**9)
texts = st.text(max_size=40)


@given(
    st.sampled_from(sorted(EVENT_TYPES)),
    st.dictionaries(
        st.sampled_from(["sku", "price", "revenue", "cost", "spend", "title", "query", "text", "network", "post_id"]),
        money | texts,
        max_size=4,
    ),
    st.dictionaries(st.sampled_from(["anonymous_id", "user_id", "device_id", "loyalty_id"]), texts, max_size=3),
)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_random_field_values_read_the_same_on_both_paths(
    etype: str, props: dict[str, Any], ids: dict[str, Any]
) -> None:
    ev = _sample(etype)
    ev["properties"] = {**(ev.get("properties") or {}), **props}
    ev["identities"] = {**(ev.get("identities") or {}), **ids}
    raw = orjson.dumps(ev)
    if fast.decode(raw) is not None:
        parse_event(raw)
    _same(*_both([raw]))


def test_a_python_validator_without_a_fast_equivalent_stops_the_generator() -> None:
    class Odd(_Model):
        code: str

        @field_validator("code")
        @classmethod
        def _odd(cls, v: str) -> str:
            return v

    with pytest.raises(TypeError, match="fast equivalent"):
        fast._struct(Odd)


def test_a_model_config_without_a_fast_equivalent_stops_the_generator() -> None:
    class Strict(_Model):
        model_config = ConfigDict(extra="forbid")
        code: str

    with pytest.raises(TypeError, match="fast equivalent"):
        fast._struct(Strict)


def test_a_constraint_without_a_fast_equivalent_stops_the_generator() -> None:
    class Multiple(_Model):
        n: Annotated[int, Field(multiple_of=3)]

    with pytest.raises(TypeError, match="fast equivalent"):
        fast._struct(Multiple)


def test_a_datetime_or_uuid_outside_the_envelope_stops_the_generator() -> None:
    # decode_many checks the envelope's id and datetime texts; any other would go unchecked.
    class Booking(_Model):
        at: datetime

    class Ticket(_Model):
        ref: uuid.UUID

    for model in (Booking, Ticket):
        with pytest.raises(TypeError, match="fast equivalent"):
            fast._struct(model)


def test_a_batch_leaves_to_pydantic_exactly_the_events_whose_texts_fail() -> None:
    good = [_sample("page_view"), _sample("like"), _sample("order_completed")]
    bad = [
        _sample("page_view", event_id="6F9619FF-8B86-D011-B42D-00C04FC964FF"),
        _sample("like", occurred_at="2026-03-02T10:00Z"),
        _sample("order_completed", sent_at="2026-03-02T10:00:00.1234567Z"),
        _sample("page_view", received_at="2026-03-02 10:00:00Z"),
    ]
    mixed = [good[0], bad[0], bad[1], good[1], bad[2], bad[3], good[2]]
    events = fast.decode_many([orjson.dumps(e) for e in mixed], [False] * len(mixed))
    assert [e is not None for e in events] == [True, False, False, True, False, False, True]
    assert [e.event_id for e in events if e is not None] == [g["event_id"] for g in good]
    assert all(isinstance(e.occurred_at, datetime) for e in events if e is not None)
