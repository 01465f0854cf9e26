"""The Python publisher (kafka-python): validate at the edge, hash PII, send with order per key.

    with Publisher(get_settings()) as pub:
        pub.publish({"event_id": ..., "type": "page_view", ...})

An invalid event raises ``InvalidEvent`` naming the field and the problem; nothing is sent.
The producer is idempotent with ``acks=all``, so broker retries do not duplicate events.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import orjson

from schemas.events import CHANNEL_OF, Envelope, Reason, parse_object
from streams.errors import InvalidEvent, PublishError
from streams.identity.links import Links
from streams.identity.pii import scrub_event
from streams.ingest.routing import routing_key
from streams.kafka import kafka_python_kwargs
from streams.settings import Settings
from streams.topics import TopicNames


class Publisher:
    def __init__(self, settings: Settings, *, linger_ms: int = 20, timeout_s: float | None = None) -> None:
        """``timeout_s``: how long to wait for Kafka to answer at all (kafka-python's own bootstrap
        wait is 30 s, whatever the caller was told to wait)."""
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self._names = TopicNames(prefix=settings.topic_prefix)
        self._pepper = settings.pepper()
        try:
            self._producer = KafkaProducer(
                acks="all",
                enable_idempotence=True,
                linger_ms=linger_ms,
                batch_size=256 * 1024,
                max_in_flight_requests_per_connection=5,
                retries=2**31 - 1,
                compression_type=None,
                **kafka_python_kwargs(settings),
                **(
                    {"bootstrap_timeout_ms": int(timeout_s * 1000), "max_block_ms": int(timeout_s * 1000)}
                    if timeout_s is not None
                    else {}
                ),
            )
        except KafkaError as err:
            raise PublishError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {err}") from err

    def validate(self, event: Mapping[str, Any] | Envelope) -> tuple[Envelope, bytes]:
        if isinstance(event, Envelope):  # a typed event gets the same scrub: free text may hold PII
            event = event.model_dump(mode="json", exclude_none=True)
        try:
            raw = orjson.loads(orjson.dumps(dict(event)))  # a copy: the caller's dict is left as it was
        except TypeError as err:
            raise InvalidEvent(Reason.SCHEMA_VIOLATION, f"not serialisable as JSON: {err}") from None
        scrub_event(raw, self._pepper)  # the collector's rules: nothing clear reaches Kafka
        model = parse_object(raw)
        return model, model.model_dump_json(exclude_unset=True).encode()  # unknown fields stay here

    def publish(self, event: Mapping[str, Any] | Envelope, *, timestamp_ms: int | None = None) -> Any:
        """Validate and send; returns kafka-python's future. ``timestamp_ms`` replays history
        with its original arrival times (the worker reads it as ``received_at``)."""
        model, value = self.validate(event)
        return self._producer.send(
            self._names.raw(CHANNEL_OF[model.type]), key=routing_key(model), value=value, timestamp_ms=timestamp_ms
        )

    def publish_raw(
        self, channel: str, value: bytes, *, key: bytes | None = None, timestamp_ms: int | None = None
    ) -> Any:
        """Send bytes unvalidated (tests and the simulator's deliberately bad events)."""
        return self._producer.send(self._names.raw(channel), key=key, value=value, timestamp_ms=timestamp_ms)

    def publish_links(self, links: Links) -> list[Any]:
        """Identity evidence that is not an event (a CRM export) for the single-writer identity stage."""
        return [self._producer.send(self._names.identity_links, key=b"links", value=m) for m in links.messages()]

    def publish_control(self, message: dict[str, Any]) -> Any:
        """A control message for the single-writer identity stage (e.g. an erasure request)."""
        return self._producer.send(self._names.identity_links, key=b"links", value=orjson.dumps(message))

    def flush(self, timeout: float | None = 60) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
