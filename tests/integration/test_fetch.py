"""Whole record sets (``streams.ingest.fetch``) against a plain aiokafka consumer, on the real broker:
the same values, timestamps and offsets, from the start or from inside a batch, uncompressed (read
natively) and gzip-compressed (read by aiokafka); other consumers in the process are untouched."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.ingest import fetch
from streams.ingest.consumer import take_batch
from streams.ingest.fetch import RecordSet

pytestmark = pytest.mark.integration

Seen = dict[tuple[str, int], list[tuple[int, int, bytes]]]  # (topic, partition) → (offset, ts, value)


def _topic(kafka: str, compression: str | None, n: int) -> str:
    name = f"fetch-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka, compression_type=compression, linger_ms=50)
    for i in range(n):
        # A tombstone, headers and explicit timestamps: each field the reader must step over or keep.
        value = None if i % 97 == 5 else f'{{"i": {i}, "pad": "{"x" * (i % 300)}"}}'.encode()
        producer.send(
            name,
            value=value,
            key=str(i).encode(),
            partition=i % 2,
            timestamp_ms=1_700_000_000_000 + i,
            headers=[("h", b"v")] if i % 3 else [],
        )
    producer.flush()
    producer.close()
    return name


async def _consumer(kafka: str, topic: str, start: int, **kw: Any) -> AIOKafkaConsumer:
    """Started, reading both partitions of ``topic`` from ``start``."""
    c = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, auto_offset_reset="earliest", **kw)
    tps = [TopicPartition(topic, p) for p in (0, 1)]
    c.assign(tps)
    await c.start()
    for tp in tps:
        c.seek(tp, start)
    return c


async def _plain(kafka: str, topic: str, n: int, start: int) -> tuple[Seen, set[type]]:
    c = await _consumer(kafka, topic, start)
    seen: Seen = {}
    kinds: set[type] = set()
    try:
        while sum(map(len, seen.values())) < n - 2 * start:
            for tp, records in (await c.getmany(timeout_ms=1000)).items():
                kinds |= {type(r) for r in records}
                seen.setdefault((tp.topic, tp.partition), []).extend(
                    (r.offset, r.timestamp, r.value or b"") for r in records
                )
    finally:
        await c.stop()
    return seen, kinds


async def _whole(kafka: str, topic: str, n: int, start: int) -> tuple[Seen, list[int]]:
    # 64 KB fetches: several record sets a batch, uncompressed (a compressed batch comes whole).
    c = await _consumer(kafka, topic, start, value_deserializer=fetch.whole_sets, max_partition_fetch_bytes=64 << 10)
    seen: Seen = {}
    sizes = []
    try:
        while sum(map(len, seen.values())) < n - 2 * start:
            sets, offsets = await take_batch(c, 500, 0.2, whole_sets=True)
            sizes.append(sum(map(len, sets[:-1])))  # before its last set
            for s in sets:
                assert isinstance(s, RecordSet)
                got = seen.setdefault((s.topic, s.partition), [])
                got += zip(s.offsets.tolist(), s.timestamps_ms.tolist(), s.values, strict=True)
                assert offsets[TopicPartition(s.topic, s.partition)] >= int(s.offsets[-1]) + 1
            for tp, next_offset in offsets.items():
                assert await c.position(tp) == next_offset  # aiokafka's own position moved with the sets
    finally:
        await c.stop()
    return seen, sizes


@pytest.mark.parametrize("compression", [None, "gzip"])
@pytest.mark.parametrize("start", [0, 7])
def test_whole_record_sets_read_what_a_plain_consumer_reads(
    kafka: str, compression: str | None, start: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fetch.install()
    read_natively = []
    real = fetch.native.read_records

    def spy(raw: bytes, fetch_offset: int, *, check_crc: bool) -> Any:
        got = real(raw, fetch_offset, check_crc=check_crc)
        read_natively.append(got is not None)
        return got

    monkeypatch.setattr(fetch.native, "read_records", spy)
    n = 3_000
    topic = _topic(kafka, compression, n)
    whole, sizes = asyncio.run(_whole(kafka, topic, n, start))
    # Uncompressed sets are read natively; compressed ones by aiokafka.
    assert read_natively and set(read_natively) == {compression is None}
    plain, kinds = asyncio.run(_plain(kafka, topic, n, start))
    assert whole == plain
    assert sum(map(len, whole.values())) == n - 2 * start
    assert kinds == {ConsumerRecord}  # installed, a consumer that did not ask for sets still gets records
    # A batch passes its 500 records by less than one set: it was short of them before its last.
    assert max(sizes) < 500
