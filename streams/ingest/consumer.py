"""The raw topics' consumer: whole fetches from aiokafka, stored before their offsets are committed.

Why not a Faust agent: Faust's per-event stream machinery drains the raw topics many times slower
than a bare aiokafka consumer (docs/decisions/ingest-beside-faust.md). Raw events are the volume,
so this stage reads batches straight from aiokafka in the worker's event loop; dead letters and
identity links stay Faust agents.

Delivery: a batch is normalized, stored, its dead letters and links produced, and only then are
its offsets committed. A crash or a rebalance in between redelivers the batch; storage is
idempotent (ReplacingMergeTree on event_id), so each event is counted once. Two batches
overlap: while one is stored (chDB releases the GIL) the next is fetched and normalized.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError

from streams.ingest.fetch import RecordSet
from streams.ingest.normalize import RawBatch
from streams.runtime import HEALTH, complete_or_die, retry

log = logging.getLogger("parcours")

Offsets = dict[TopicPartition, int]


def raw_batch(sets: Sequence[RecordSet], now_us: int) -> RawBatch:
    """The record sets as the normalizer reads them: payloads, and arrival times from the records'
    Kafka timestamps (ms; ``now_us`` where a record has none). A record's source,
    "topic/partition/offset", is only spelled out if it is needed (a dead letter)."""
    if not sets:
        return RawBatch([], [], str)
    stamps = np.concatenate([s.timestamps_ms for s in sets]) * 1000
    stamps[stamps <= 0] = now_us
    offsets = np.concatenate([s.offsets for s in sets])
    set_of = np.repeat(np.arange(len(sets)), [len(s) for s in sets])

    def source(i: int) -> str:
        s = sets[set_of[i]]
        return f"{s.topic}/{s.partition}/{offsets[i]}"

    return RawBatch([v for s in sets for v in s.values], stamps.tolist(), source)


class ShowAssignment(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no stubs
    """Health lists the raw partitions this worker owns (operators see the split; tests wait for it)."""

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        HEALTH.ingest_partitions = []

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        HEALTH.ingest_partitions = sorted(f"{tp.topic}/{tp.partition}" for tp in assigned)


async def take_batch(
    consumer: AIOKafkaConsumer, max_records: int, within_s: float, *, whole_sets: bool = False
) -> tuple[list[RecordSet], Offsets]:
    """About ``max_records`` records, waiting at most ``within_s`` after the first arrived.

    A backlog fills a batch at once; a trickle is flushed ``within_s`` after its first event,
    which bounds both freshness and the number of small parts written to ClickHouse.
    ``whole_sets``: the consumer returns record sets (``streams.ingest.fetch``), one partition's
    fetch each, so ``getmany`` is asked for one at a time and the batch passes ``max_records`` by
    less than one fetch (``max_partition_fetch_bytes``)."""
    sets: list[RecordSet] = []
    offsets: Offsets = {}
    n = 0
    deadline: float | None = None
    while n < max_records:
        wait = 1.0 if deadline is None else deadline - time.monotonic()
        if wait <= 0:
            break
        fetched = await consumer.getmany(timeout_ms=int(wait * 1000), max_records=1 if whole_sets else max_records - n)
        if not fetched and deadline is None:
            return sets, offsets  # idle: let the caller look around (shutdown, health)
        for tp, got in fetched.items():
            for s in got if whole_sets else [RecordSet.of(tp, got)]:
                sets.append(s)
                n += len(s)
                offsets[tp] = int(s.offsets[-1]) + 1
        if sets and deadline is None:
            deadline = time.monotonic() + within_s
    return sets, offsets


async def commit(consumer: AIOKafkaConsumer, offsets: Offsets, *, max_delay: float = 5.0) -> None:
    try:
        await retry(lambda: consumer.commit(offsets), "committing offsets", max_delay=max_delay)
    except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as err:
        # The partitions moved to another worker mid-batch; it re-reads from the last commit
        # and storage drops the duplicates. Nothing is lost.
        log.warning("offsets not committed after a rebalance (%s); the new owner re-reads them", err)


async def start(consumer: AIOKafkaConsumer, *, max_delay: float = 10.0) -> None:
    """Join the group, waiting out a broker that is not reachable yet (as Faust's agents do)."""
    await retry(consumer.start, "ingest consumer reaching Kafka", max_delay=max_delay)


async def run(
    consumer: AIOKafkaConsumer,
    *,
    prepare: Callable[[list[RecordSet]], Awaitable[Any]],
    store: Callable[[Any], Awaitable[None]],
    batch_size: int,
    within_s: float,
    whole_sets: bool = False,
) -> None:
    """Fetch → ``prepare`` (CPU, on the loop) → ``store`` (I/O, off the loop) → commit, with one
    stored batch in flight while the next is prepared. Batches are stored in fetch order.

    ``prepare`` should yield to the loop now and then: the batch in flight produces its links and
    dead letters and awaits their acks on this loop, and can only progress while it yields."""

    async def store_and_commit(prepared: Any, offsets: Offsets) -> None:
        t0 = time.perf_counter()
        await store(prepared)
        t1 = time.perf_counter()
        await commit(consumer, offsets)
        HEALTH.spent("ingest.store", t1 - t0)
        HEALTH.spent("ingest.commit", time.perf_counter() - t1)

    in_flight: asyncio.Future[None] | None = None
    try:
        while True:
            t0 = time.perf_counter()
            records, offsets = await take_batch(consumer, batch_size, within_s, whole_sets=whole_sets)
            if not records:
                continue
            t1 = time.perf_counter()
            prepared = await prepare(records)
            t2 = time.perf_counter()
            if in_flight is not None:
                await asyncio.shield(in_flight)
            # Where a worker's time goes (GET /v1/health "seconds"; bench/pipeline.py reports it).
            HEALTH.spent("ingest.fetch", t1 - t0)
            HEALTH.spent("ingest.prepare", t2 - t1)
            HEALTH.spent("ingest.wait_for_store", time.perf_counter() - t2)
            HEALTH.count("ingest.batches")
            in_flight = asyncio.ensure_future(complete_or_die(store_and_commit(prepared, offsets), "ingest batch"))
    finally:
        if in_flight is not None:
            await asyncio.shield(in_flight)  # complete_or_die finishes it or exits the process
