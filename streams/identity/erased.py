"""The erasures a worker knows, and the compacted topic that keeps them beyond any store.

Each erasure record (``<prefix>.erasures``, keyed by erasure id, compacted so it is never
deleted) holds the peppered hashes of the person's identifiers and when the erasure was asked
for; no clear value. A worker reads the topic from its beginning before it ingests anything,
then follows it, so the replay guard (``streams.ingest.replay_guard``) drops every record of an
erased person that arrived before the erasure, on a live stream or a replay into a fresh store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.errors import TransientError
from streams.identity.pii import pepper_hash
from streams.settings import Settings
from streams.topics import TopicNames

log = logging.getLogger("parcours")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def identifier_hash(identifier: str, pepper: str) -> str:
    """An identifier (``kind:value``) as the erasure record keeps it: HMAC-SHA256 with the pepper,
    like e-mails at the edge, so a record cannot be reversed by hashing candidate values."""
    return pepper_hash(identifier, pepper)


def _us(at: datetime | str) -> int:
    t = datetime.fromisoformat(at) if isinstance(at, str) else at
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - _EPOCH) // timedelta(microseconds=1)


class Erasures:
    """Peppered identifier hash → when its latest erasure was asked for (µs since the epoch).

    Written by the follower thread, read on the event loop: single dict operations, atomic
    under the GIL. ``latest_us`` lets a batch all of whose records arrived later skip the test."""

    def __init__(self, pepper: str, *, future_stamp_s: float = 60.0) -> None:
        self._pepper = pepper
        self._future_stamp_us = int(future_stamp_s * 1_000_000)
        self.erased_at: dict[str, int] = {}
        self.latest_us = -1  # no erasure
        self.records: dict[str, dict[str, Any]] = {}  # erasure id → record (to restore a store)
        self.ready = threading.Event()
        self._cache: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: Mapping[str, Any]) -> None:
        # Covers every record stamped up to ``future_stamp_us`` after the request: one produced
        # before it cannot carry a later stamp (the topics refuse it, ``streams.kafka``) and come
        # back on a replay. The price: the forgotten identifiers' events in that margin after the
        # erasure are dropped too.
        at = _us(record["requested_at"]) + self._future_stamp_us
        for h in record.get("identifier_hashes", ()):
            if self.erased_at.get(h, -1) < at:
                self.erased_at[h] = at
        self.records[str(record["erasure_id"])] = dict(record)
        self.latest_us = max(self.latest_us, at)

    def hash(self, identifier: str) -> str:
        h = self._cache.get(identifier)
        if h is None:
            if len(self._cache) >= 1 << 16:
                self._cache.clear()
            h = self._cache[identifier] = identifier_hash(identifier, self._pepper)
        return h

    def erased(self, identifiers: Iterable[str], arrived_us: int) -> bool:
        """Whether a record that arrived at ``arrived_us`` with these identifiers belongs to an
        erasure asked for at or after its arrival."""
        if arrived_us > self.latest_us:
            return False
        erased_at = self.erased_at
        return any(erased_at.get(self.hash(i), -1) >= arrived_us for i in identifiers)


def record_message(row: Mapping[str, Any]) -> bytes:
    """An erasures-table row as the topic keeps it (no clear identifier, no event id)."""
    keep = ("erasure_id", "person_id", "root_person_id", "identifier_hashes", "requested_at", "done_at", "rows_deleted")
    out = {k: row[k] for k in keep if k in row}
    for k in ("requested_at", "done_at"):
        if isinstance(out.get(k), datetime):
            out[k] = out[k].astimezone(UTC).isoformat()
    return orjson.dumps(out)


def publish_record(settings: Settings, row: Mapping[str, Any]) -> None:
    """Write an erasure record to the compacted topic and wait for the broker's ack."""
    from kafka import KafkaProducer

    from streams.kafka import kafka_python_kwargs

    topic = TopicNames(prefix=settings.topic_prefix).erasures
    try:
        producer = KafkaProducer(acks="all", **kafka_python_kwargs(settings))
        try:
            producer.send(topic, key=str(row["erasure_id"]).encode(), value=record_message(row)).get(timeout=30)
        finally:
            producer.close(timeout=10)
    except Exception as err:
        raise TransientError(f"erasure record not written to {topic}: {err}") from err


def follow(settings: Settings, erasures: Erasures, *, stop: threading.Event | None = None) -> threading.Thread:
    """Read the erasures topic from its beginning into ``erasures`` on a daemon thread, and keep
    following it; ``erasures.ready`` is set once the records present at start are read."""
    thread = threading.Thread(
        target=_follow, args=(settings, erasures, stop or threading.Event()), name="erasures", daemon=True
    )
    thread.start()
    return thread


def _follow(settings: Settings, erasures: Erasures, stop: threading.Event) -> None:
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafka import kafka_python_kwargs

    topic = TopicNames(prefix=settings.topic_prefix).erasures
    while not stop.is_set():
        try:
            consumer = KafkaConsumer(enable_auto_commit=False, **kafka_python_kwargs(settings))
            try:
                _read(consumer, topic, erasures, stop, TopicPartition)
            finally:
                consumer.close()
        except Exception:
            log.warning("erasures topic: read failed; retrying", exc_info=True)
            stop.wait(2.0)


def _read(consumer: Any, topic: str, erasures: Erasures, stop: threading.Event, tp_of: Any) -> None:
    parts = consumer.partitions_for_topic(topic)
    if not parts:  # not created (``parcours topics`` and workers create it): nothing erased yet
        erasures.ready.set()
        stop.wait(5.0)
        return
    tps = [tp_of(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    while not stop.is_set():
        for msgs in consumer.poll(timeout_ms=1000).values():
            for m in msgs:
                if m.value:  # a tombstone deletes nothing here: erasures are for good
                    erasures.add(orjson.loads(m.value))
        if not erasures.ready.is_set() and all(consumer.position(tp) >= ends[tp] for tp in tps):
            log.info("erasures: %d known", len(erasures))
            erasures.ready.set()
