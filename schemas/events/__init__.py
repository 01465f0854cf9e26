"""Event models. ``parse_event(bytes)`` → typed event or ``InvalidEvent(reason, detail)``."""

from schemas.errors import InvalidEvent, Reason
from schemas.events.envelope import (
    SCHEMA_VERSION,
    SHARED_DEVICE_KINDS,
    Consent,
    Context,
    Envelope,
    Identities,
    SocialAccount,
)
from schemas.events.registry import (
    ALL_EVENTS,
    CHANNEL_OF,
    EVENT_TYPES,
    FREE_TEXT_FIELDS,
    MAX_EVENT_BYTES,
    AnyEvent,
    dropped_fields,
    parse_event,
    parse_object,
)

__all__ = [
    "ALL_EVENTS",
    "CHANNEL_OF",
    "EVENT_TYPES",
    "FREE_TEXT_FIELDS",
    "MAX_EVENT_BYTES",
    "SCHEMA_VERSION",
    "SHARED_DEVICE_KINDS",
    "AnyEvent",
    "Consent",
    "Context",
    "Envelope",
    "Identities",
    "InvalidEvent",
    "Reason",
    "SocialAccount",
    "dropped_fields",
    "parse_event",
    "parse_object",
]
