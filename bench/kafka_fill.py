"""Fill raw topics fast (aiokafka, batched, no per-message wait) and drain them bare."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bench.common import now_text
from streams.topics import CHANNELS, TopicNames


def channel_of(payload: bytes) -> str:
    i = payload.find(b'"channel":"')
    return payload[i + 11 : payload.find(b'"', i + 11)].decode() if i >= 0 else "web"


async def _fill(bootstrap: str, prefix: str, payloads: list[bytes]) -> float:
    from aiokafka import AIOKafkaProducer

    names = TopicNames(prefix=prefix)
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20, acks="all", enable_idempotence=True
    )
    await p.start()
    t0 = time.perf_counter()
    try:
        pending = []
        for i, v in enumerate(payloads):
            ch = channel_of(v)
            pending.append(await p.send(names.raw(ch if ch in CHANNELS else "web"), v, key=str(i % 4096).encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await p.stop()
    return time.perf_counter() - t0


def fill(bootstrap: str, prefix: str, payloads: list[bytes]) -> float:
    return asyncio.run(_fill(bootstrap, prefix, payloads))


async def _drain(bootstrap: str, topics: list[str], expected: int) -> float:
    """A bare aiokafka consumer doing no work: the ceiling the pipeline is judged against."""
    import uuid

    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"bare-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=10_000,
        fetch_max_bytes=64 << 20,
        max_partition_fetch_bytes=16 << 20,
    )
    await c.start()
    n = 0
    t0 = None
    try:
        while n < expected:
            batch = await c.getmany(timeout_ms=1000, max_records=10_000)
            for msgs in batch.values():
                if t0 is None:
                    t0 = time.perf_counter()
                n += len(msgs)
    finally:
        await c.stop()
    return n / (time.perf_counter() - (t0 or time.perf_counter()))


def drain_rate(bootstrap: str, topics: list[str], expected: int) -> float:
    return asyncio.run(_drain(bootstrap, topics, expected))


async def steady(
    bootstrap: str,
    prefix: str,
    frames: list[tuple[str, bytes, bytes, str]],
    *,
    rate: float,
    seconds: float,
    probe: Callable[[str], None],
    probe_every: int,
) -> int:
    """Publish ``frames`` (``bench.common.live_frame``) at ``rate`` a second for ``seconds``, each
    stamped with the instant it is sent; ``probe(event_id)`` as every ``probe_every``-th is queued.

    One batch per raw topic each 5-ms tick, appended natively (aiokafka's batch builder), to a
    partition that rotates by tick: a load generator at this rate building each message in Python
    took most of a core from the worker it measures on this 2-core machine (a run at 40,014
    events/s published only 83% of that rate: docs/performance.md). Returns how many
    were sent."""
    from aiokafka import AIOKafkaProducer

    names = TopicNames(prefix=prefix)
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=1 << 20)
    await p.start()
    try:
        partitions = {ch: sorted(await p.partitions_for(names.raw(ch))) for ch in CHANNELS}
        t0 = time.perf_counter()
        i, tick = 0, 0
        sent = []
        while (now := time.perf_counter()) - t0 < seconds:
            due = min(int((now - t0) * rate), len(frames))
            if due > i:
                stamp = now_text()  # one instant per tick (5 ms), as a device clock would give
                batches: dict[str, Any] = {}
                for k in range(i, due):
                    ch, head, tail, event_id = frames[k]
                    b = batches.get(ch)
                    if b is None:
                        b = batches[ch] = p.create_batch()
                    if b.append(key=None, value=head + stamp + tail, timestamp=None) is None:
                        raise RuntimeError("a tick's batch outgrew max_batch_size")
                    if k % probe_every == 0:
                        probe(event_id)
                for ch, b in batches.items():
                    b.close()
                    parts = partitions[ch]
                    sent.append(await p.send_batch(b, names.raw(ch), partition=parts[tick % len(parts)]))
                tick += 1
                i = due
            await asyncio.sleep(0.005)
        await asyncio.gather(*sent)
        return i
    finally:
        await p.stop()
