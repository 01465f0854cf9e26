"""Fill raw topics fast (aiokafka, batched, no per-message wait) and drain them bare."""

from __future__ import annotations

import asyncio
import time

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
