"""Parcours's errors: the root hierarchy (``schemas.errors``) and those of the stream processors.
Retry logic is one ``isinstance(err, TransientError)``."""

from __future__ import annotations

from schemas.errors import InvalidEvent, ParcoursError, Reason, TerminalError, TransientError

__all__ = [
    "ConfigError",
    "InvalidEvent",
    "ParcoursError",
    "PublishError",
    "QueryError",
    "Reason",
    "RefusedErasure",
    "RefusedQuery",
    "StoreUnavailable",
    "TerminalError",
    "TransientError",
]


class ConfigError(TerminalError):
    """Settings are inconsistent (for example several workers on the embedded backend)."""


class StoreUnavailable(TransientError):
    """ClickHouse could not be reached or refused the write for a reason that may pass."""


class QueryError(TerminalError):
    """ClickHouse rejected a statement."""


class RefusedQuery(QueryError):
    """A statement the read-only endpoint will not run; the message says why."""


class PublishError(TransientError):
    """An event could not be published: Kafka could not be reached."""


class RefusedErasure(TerminalError):
    """An erasure request that names no person (an empty or malformed key): nothing is erased."""
