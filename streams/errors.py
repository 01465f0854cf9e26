"""One root error for Parcours. Retry logic is one ``isinstance(err, TransientError)``."""

from __future__ import annotations


class ParcoursError(Exception):
    """Root of every error Parcours raises on purpose."""


class TransientError(ParcoursError):
    """May succeed if retried: a broker or ClickHouse that is down for a while."""


class TerminalError(ParcoursError):
    """Retrying will not help: bad configuration, bad SQL, refused credentials."""


class ConfigError(TerminalError):
    """Settings are inconsistent (for example several workers on the embedded backend)."""


class StoreUnavailable(TransientError):
    """ClickHouse could not be reached or refused the write for a reason that may pass."""


class QueryError(TerminalError):
    """ClickHouse rejected a statement."""


class RefusedQuery(QueryError):
    """A statement the read-only endpoint will not run; the message says why."""


class PublishError(ParcoursError):
    """An event could not be published."""


class InvalidEvent(PublishError, TerminalError):
    """The event does not match its schema; the message names the field and the problem."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"invalid event ({reason}): {detail}")
        self.reason = reason
        self.detail = detail
