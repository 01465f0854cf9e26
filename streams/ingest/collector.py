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

from schemas.events import CHANNEL_OF, InvalidEvent, Reason, dropped_fields, parse_object
from streams.identity.pii import scrub_event, scrub_payload
from streams.ingest.normalize import DeadLetter
from streams.ingest.routing import routing_key
from streams.nesting import dumps_any_depth, nesting_depth_over
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


# Events are a few levels deep (properties of a context object at most); a body nested hundreds
# of levels deep is an attack on the parsers downstream, refused as that event's dead letter.
MAX_DEPTH = 16


def bearer(header: str | None) -> bytes | None:
    """The token of ``Authorization: Bearer <token>`` as bytes, or None. A header that is not
    UTF-8 reaches us with surrogates: it is a wrong key like any other, never an error."""
    if not header:
        return None
    return header.removeprefix("Bearer ").strip().encode("utf-8", "surrogateescape")


class Collector:
    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._keys = {src: k.get_secret_value() for src, k in settings.write_keys.items()}
        self._limiter = RateLimiter(settings.collector_rate_per_s)
        self._channels = {src: settings.channels_of(src) for src in settings.write_keys}
        self._pepper = settings.pepper()

    def authenticate(self, header: str | None) -> str | None:
        """Source name for a write key (``Authorization: Bearer <key>``), or None."""
        token = bearer(header)
        if token is None:
            return None
        for source, key in self._keys.items():
            if hmac.compare_digest(token, key.encode()):
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
            try:
                if isinstance(raw, (dict, list)) and nesting_depth_over(raw, MAX_DEPTH):
                    raise InvalidEvent(Reason.SCHEMA_VIOLATION, f"nested deeper than {MAX_DEPTH} levels")
                scrub_event(raw, self._pepper)
                event = parse_object(raw)
                channel = CHANNEL_OF[event.type]
                if channel not in self._channels[source]:
                    raise InvalidEvent(
                        Reason.CHANNEL_NOT_ALLOWED,
                        f"type: {event.type} is a {channel} event; the write key of {source!r} may send "
                        f"{', '.join(self._channels[source])} events",
                    )
            except InvalidEvent as rej:
                result.dead.append(
                    DeadLetter(
                        dl_id=f"collector/{request_id}/{i}",
                        reason=rej.reason.value,
                        detail=rej.detail,
                        source=f"collector:{source}",
                        # the full rules on what is kept: refused before (or while) scrubbing, or not an object
                        payload=scrub_payload(dumps_any_depth(raw), self._pepper, screened=False),
                        received_at=now,
                        event_id=str(raw.get("event_id", ""))[:64] if isinstance(raw, dict) else "",
                    )
                )
                answers.append({"index": i, "accepted": False, "reason": rej.reason.value, "detail": rej.detail})
                continue
            # What the model read, not the raw object: a field the model does not know (and any
            # clear value in it) never reaches Kafka; the answer names it below.
            value = event.model_dump_json(exclude_unset=True).encode()
            result.accepted.append(Outgoing(channel, routing_key(event), value, now.timestamp()))
            answer: dict[str, Any] = {"index": i, "accepted": True, "event_id": str(event.event_id)}
            dropped = dropped_fields(event, raw)
            if dropped:  # kept nowhere: say so, so that a producer's typo does not go unnoticed
                answer["dropped"] = dropped
            answers.append(answer)
        result.body = {"accepted": len(result.accepted), "rejected": len(result.dead), "results": answers}
        return result
