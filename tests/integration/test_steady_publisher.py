"""The freshness bench's load generator on the real broker: every frame arrives once, stamped
with the instant it was sent, at about the asked rate; the probes it reports are among them."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from bench.common import corpus, live_frame
from bench.kafka_fill import steady
from streams.kafka import ensure_topics
from streams.settings import Settings
from streams.topics import TopicNames

pytestmark = pytest.mark.integration


async def _read_all(kafka: str, topics: list[str], n: int) -> list[bytes]:
    c = AIOKafkaConsumer(*topics, bootstrap_servers=kafka, auto_offset_reset="earliest", enable_auto_commit=False)
    await c.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < n and time.monotonic() < deadline:
            for records in (await c.getmany(timeout_ms=500)).values():
                values += [r.value for r in records]
    finally:
        await c.stop()
    return values


def test_frames_are_published_once_each_at_the_rate_stamped_as_sent(kafka: str) -> None:
    prefix = f"st{uuid.uuid4().hex[:6]}"
    ensure_topics(Settings(kafka_bootstrap=kafka, topic_prefix=prefix, topic_partitions=2))
    frames = [live_frame(p) for p in corpus(3000, persons=50)]
    probes: list[str] = []
    before = datetime.now(UTC)
    t0 = time.perf_counter()
    sent = asyncio.run(steady(kafka, prefix, frames, rate=2000, seconds=1.0, probe=probes.append, probe_every=100))
    took = time.perf_counter() - t0
    after = datetime.now(UTC)
    assert 1800 <= sent <= 2000 and took < 5
    values = asyncio.run(_read_all(kafka, list(TopicNames(prefix=prefix).all_raw), sent))
    events = [orjson.loads(v) for v in values]
    assert sorted(e["event_id"] for e in events) == sorted(f[3] for f in frames[:sent])
    assert all(before <= datetime.fromisoformat(e["occurred_at"]) <= after for e in events)
    assert probes == [f[3] for f in frames[:sent:100]]
