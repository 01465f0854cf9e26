"""One place that knows every event type, and turns raw bytes into a typed event or a typed rejection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from schemas.errors import InvalidEvent, Reason
from schemas.events.envelope import SCHEMA_VERSION, Envelope, FreeText
from schemas.events.social import SOCIAL_EVENTS
from schemas.events.store import STORE_EVENTS
from schemas.events.tv import TV_EVENTS
from schemas.events.web import WEB_EVENTS

ALL_EVENTS: tuple[type[Envelope], ...] = WEB_EVENTS + SOCIAL_EVENTS + TV_EVENTS + STORE_EVENTS
EVENT_TYPES: dict[str, type[Envelope]] = {cls.model_fields["type"].default: cls for cls in ALL_EVENTS}
CHANNEL_OF: dict[str, str] = {name: cls.model_fields["channel"].default for name, cls in EVENT_TYPES.items()}

AnyEvent: Any = Annotated[Union[tuple(ALL_EVENTS)], Field(discriminator="type")]  # noqa: UP007
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyEvent)

MAX_EVENT_BYTES = 64 * 1024


def _free_text_fields() -> frozenset[str]:
    names = set()
    for cls in ALL_EVENTS:
        props: Any = cls.model_fields["properties"].annotation if "properties" in cls.model_fields else None
        if isinstance(props, type) and issubclass(props, BaseModel):
            for name, field in props.model_fields.items():
                # ``Text | None`` keeps the marker on the union's member, not on the field
                metadata = [
                    *field.metadata,
                    *(m for a in get_args(field.annotation) for m in getattr(a, "__metadata__", ())),
                ]
                if any(isinstance(m, FreeText) for m in metadata):
                    names.add(name)
    return frozenset(names)


# Names of the properties that hold free text, whichever event carries them.
FREE_TEXT_FIELDS = _free_text_fields()


def describe(err: ValidationError, limit: int = 3) -> str:
    """'identities.email_hash: must be a lowercase hex SHA-256; ...' — field path first."""
    parts = []
    for e in err.errors()[:limit]:
        loc = ".".join(str(p) for p in e["loc"] if not (isinstance(p, str) and p in EVENT_TYPES))
        parts.append(f"{loc or '<event>'}: {e['msg']}")
    more = err.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_object(obj: Any) -> Envelope:
    """Validate an already-decoded JSON value; raise InvalidEvent on failure."""
    if not isinstance(obj, dict):
        raise InvalidEvent(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
    etype = obj.get("type")
    if not isinstance(etype, str) or etype not in EVENT_TYPES:
        raise InvalidEvent(Reason.UNKNOWN_TYPE, f"type: {str(etype)[:64]!r} is not a known event type")
    version = obj.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise InvalidEvent(Reason.UNSUPPORTED_VERSION, f"schema_version: {version} > {SCHEMA_VERSION}")
    try:
        event: Envelope = _ADAPTER.validate_python(obj)
        return event
    except ValidationError as err:
        raise InvalidEvent(Reason.SCHEMA_VIOLATION, describe(err)) from None
    except RecursionError:
        raise InvalidEvent(Reason.SCHEMA_VIOLATION, "nesting too deep") from None


def dropped_fields(event: BaseModel, raw: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Paths in ``raw`` that ``event`` has no field for: the models ignore unknown fields (forward
    compatibility), and the collector tells the producer which ones it did not keep."""
    fields = type(event).model_fields
    out: list[str] = []
    for key, value in raw.items():
        if key not in fields:
            out.append(prefix + str(key))
            continue
        sub = getattr(event, key)
        if isinstance(sub, BaseModel) and isinstance(value, Mapping):
            out += dropped_fields(sub, value, f"{prefix}{key}.")
    return out


_VALIDATOR = _ADAPTER.validator  # pydantic-core's, called directly: no Python wrapper per event


def parse_event(raw: bytes) -> Envelope:
    """Bytes from Kafka or HTTP → a typed event, or InvalidEvent with a typed reason."""
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(Reason.TOO_LARGE, f"{len(raw)} bytes > {MAX_EVENT_BYTES}")
    # Fast path: parse and validate in one native call, cheaper than decoding to a dict first.
    # The model enforces everything the checks below do, so an event it accepts is accepted;
    # anything it refuses takes the slow path, which names the typed reason. pydantic's parser
    # reads NaN and Infinity, which are not JSON: those take the slow path.
    if b"NaN" not in raw and b"Infinity" not in raw:
        try:
            event: Envelope = _VALIDATOR.validate_json(raw)
            return event
        except (ValidationError, RecursionError):
            pass
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise InvalidEvent(Reason.UNPARSEABLE, str(err)[:200]) from None
    return parse_object(obj)
