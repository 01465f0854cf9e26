"""The root of every error Parcours raises on purpose, at the bottom layer so that ``schemas``
raises its own and ``streams`` builds on it. Retry logic is one ``isinstance(err, TransientError)``."""

from __future__ import annotations

from enum import StrEnum


class ParcoursError(Exception):
    """Root of every error Parcours raises on purpose."""


class TransientError(ParcoursError):
    """May succeed if retried: a broker or ClickHouse that is down for a while."""


class TerminalError(ParcoursError):
    """Retrying will not help: bad configuration, bad SQL, refused credentials, a bad event."""


class Reason(StrEnum):
    """Why an event was refused. Stored with every dead letter."""

    UNPARSEABLE = "unparseable"  # not UTF-8 JSON
    NOT_AN_OBJECT = "not_an_object"  # JSON, but not an object
    TOO_LARGE = "too_large"  # over MAX_EVENT_BYTES
    UNKNOWN_TYPE = "unknown_type"  # "type" missing or not a known event type
    UNSUPPORTED_VERSION = "unsupported_version"  # schema_version newer than this worker knows
    SCHEMA_VIOLATION = "schema_violation"  # a field is missing or wrong
    IMPLAUSIBLE_TIME = "implausible_time"  # event time far in the future or before the epoch we accept
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # event_id already seen with a different body
    PROCESSING_ERROR = "processing_error"  # valid by schema, but a stage failed on it (a bug: see detail)
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"  # the collector's write key may not send this channel


class InvalidEvent(TerminalError):
    """An event refused with a typed reason; the detail names the field and the problem."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"invalid event ({reason.value}): {detail}")
        self.reason = reason
        self.detail = detail
