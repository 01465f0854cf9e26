from __future__ import annotations

import uuid

import orjson
import pytest

from schemas.events import EVENT_TYPES, MAX_EVENT_BYTES, InvalidEvent, Reason, parse_event, parse_object
from tests.conftest import event
from tests.samples import INVALID, SAMPLES


def test_every_type_has_a_sample_and_an_invalid_variant() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)
    assert set(INVALID) == set(EVENT_TYPES)


@pytest.mark.parametrize("etype", sorted(EVENT_TYPES))
def test_valid_sample_parses_to_its_type(etype: str) -> None:
    ev = parse_event(orjson.dumps(event(etype)))
    assert ev.type == etype
    assert ev.occurred_at.utcoffset() is not None
    assert ev.schema_version == 1


@pytest.mark.parametrize("etype", sorted(EVENT_TYPES))
def test_invalid_variant_is_refused_naming_the_field(etype: str) -> None:
    change, field = INVALID[etype]
    bad = {**event(etype), **change}  # each variant replaces whole top-level fields
    with pytest.raises(InvalidEvent) as exc:
        parse_object(bad)
    assert exc.value.reason is Reason.SCHEMA_VIOLATION
    assert field in exc.value.detail


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    ev = parse_object({**event("like"), "new_top_level": 1, "context": {"future": "x"}})
    assert ev.type == "like"


def test_newer_schema_version_is_refused_with_its_own_reason() -> None:
    with pytest.raises(InvalidEvent) as exc:
        parse_object(event("like", schema_version=99))
    assert exc.value.reason is Reason.UNSUPPORTED_VERSION


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", Reason.UNPARSEABLE),
        (b"\xff\xfe\x00garbage", Reason.UNPARSEABLE),
        (b"[1, 2]", Reason.NOT_AN_OBJECT),
        (b'"just a string"', Reason.NOT_AN_OBJECT),
        (b'{"type": "teleport"}', Reason.UNKNOWN_TYPE),
        (b'{"occurred_at": "2026-01-01T00:00:00Z"}', Reason.UNKNOWN_TYPE),
        (b" " * (MAX_EVENT_BYTES + 1), Reason.TOO_LARGE),
    ],
)
def test_bytes_that_are_not_events_get_typed_reasons(raw: bytes, reason: Reason) -> None:
    with pytest.raises(InvalidEvent) as exc:
        parse_event(raw)
    assert exc.value.reason is reason


def test_channel_is_fixed_by_type() -> None:
    assert parse_object(event("qr_scan")).channel == "tv"
    with pytest.raises(InvalidEvent):
        parse_object(event("qr_scan", channel="store"))


def test_event_id_must_be_a_uuid_and_round_trips() -> None:
    eid = uuid.uuid4()
    assert parse_object(event("search", event_id=str(eid))).event_id == eid


@pytest.mark.parametrize("etype", sorted(EVENT_TYPES))
def test_bytes_and_decoded_objects_validate_to_the_same_event(etype: str) -> None:
    # parse_event validates bytes natively; parse_object is the path that names reasons.
    raw = orjson.dumps(event(etype))
    assert parse_event(raw) == parse_object(orjson.loads(raw))


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_literals_are_unparseable_even_in_ignored_fields(literal: bytes) -> None:
    raw = b'{"extra": ' + literal + b", " + orjson.dumps(event("like"))[1:]
    with pytest.raises(InvalidEvent) as exc:
        parse_event(raw)
    assert exc.value.reason is Reason.UNPARSEABLE


def test_refusals_from_bytes_keep_their_typed_reason() -> None:
    with pytest.raises(InvalidEvent) as exc:
        parse_event(orjson.dumps(event("like", schema_version=99)))
    assert exc.value.reason is Reason.UNSUPPORTED_VERSION
