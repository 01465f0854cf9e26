"""The HTTP collector's logic: authenticate a source, bound the body, validate each event,
and say per event whether it was accepted. Rejected events also become dead letters.

Kept free of the web framework so it is tested directly; ``streams.web`` wires it to Faust.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.events import CHANNEL_OF, Rejection, parse_object
from streams.ingest.normalize import DeadLetter
from streams.ingest.pii import hash_identities
from streams.ingest.routing import routing_key
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class Outgoing:
    channel: str
    key: bytes
    value: bytes
    received_at: float  # epoch seconds; travels as the Kafka record timestamp, not in the body


@dataclass(slots=True)
class CollectResult:
    status: int
    body: dict[str, Any]
    accepted: list[Outgoing] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


class RateLimiter:
    """Token bucket per write key: ``rate`` requests per second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._state: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        tokens, last = self._state.get(key, (self._rate, now))
        tokens = min(self._rate, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._state[key] = (tokens, now)
            return False
        self._state[key] = (tokens - 1.0, now)
        return True


def _error(status: int, code: str, message: str) -> CollectResult:
    return CollectResult(status, {"error": code, "message": message})


class Collector:
    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._keys = {src: k.get_secret_value() for src, k in settings.write_keys.items()}
        self._limiter = RateLimiter(settings.collector_rate_per_s)
        self._pepper = settings.pii_pepper.get_secret_value()

    def authenticate(self, header: str | None) -> str | None:
        """Source name for a write key (``Authorization: Bearer <key>``), or None."""
        if not header:
            return None
        token = header.removeprefix("Bearer ").strip()
        for source, key in self._keys.items():
            if hmac.compare_digest(token.encode(), key.encode()):
                return source
        return None

    def collect(self, auth: str | None, content_length: int | None, body: bytes) -> CollectResult:
        source = self.authenticate(auth)
        if source is None:
            # Never echo what was sent: the header may hold someone's secret.
            return _error(401, "unauthorized", "missing or unknown write key")
        if not self._limiter.allow(source):
            return _error(429, "rate_limited", f"more than {self._s.collector_rate_per_s:g} requests/s")
        limit = self._s.collector_max_body
        if (content_length or 0) > limit or len(body) > limit:
            return _error(413, "too_large", f"body over {limit} bytes")
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            return _error(400, "malformed", f"body is not JSON: {str(err)[:120]}")
        batch = doc.get("batch") if isinstance(doc, dict) else doc
        if not isinstance(batch, list):
            return _error(400, "malformed", 'expected {"batch": [event, ...]} or a JSON array')
        if len(batch) > self._s.collector_max_batch:
            return _error(413, "too_many_events", f"more than {self._s.collector_max_batch} events")
        now = datetime.now(UTC)
        request_id = uuid.uuid4().hex
        result = CollectResult(200, {})
        answers = []
        for i, raw in enumerate(batch):
            if isinstance(raw, dict):
                hash_identities(raw, self._pepper)
            try:
                event = parse_object(raw)
            except Rejection as rej:
                payload = orjson.dumps(raw)
                result.dead.append(
                    DeadLetter(
                        dl_id=f"collector/{request_id}/{i}",
                        reason=rej.reason.value,
                        detail=rej.detail,
                        source=f"collector:{source}",
                        payload=payload,
                        received_at=now,
                        event_id=str(raw.get("event_id", ""))[:64] if isinstance(raw, dict) else "",
                    )
                )
                answers.append({"index": i, "accepted": False, "reason": rej.reason.value, "detail": rej.detail})
                continue
            result.accepted.append(
                Outgoing(CHANNEL_OF[event.type], routing_key(event), orjson.dumps(raw), now.timestamp())
            )
            answers.append({"index": i, "accepted": True, "event_id": str(event.event_id)})
        result.body = {"accepted": len(result.accepted), "rejected": len(result.dead), "results": answers}
        return result
