"""The raw topics' consumer: whole fetches from aiokafka, stored before their offsets are committed.

Why not a Faust agent here: Faust hands each message through its per-event stream machinery,
which on this 2-core machine drains at about 5,500 events/s with an agent that does nothing,
while a bare aiokafka consumer drains 360,000 (bench/README.md). Raw events are the volume, so
this stage reads batches straight from aiokafka in the worker's event loop; dead letters and
identity links, a small fraction of it, stay Faust agents.

Delivery: a batch is normalized, stored, its dead letters and links produced, and only then are
its offsets committed. A crash or a rebalance in between redelivers the batch; storage is
idempotent (ReplacingMergeTree on event_id), so each event is counted once. Two batches
overlap: while one is stored (chDB releases the GIL) the next is fetched and normalized.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError

from streams.runtime import complete_or_die

log = logging.getLogger("parcours")

Records = list[Any]  # aiokafka ConsumerRecord: topic, partition, offset, timestamp (ms), value
Offsets = dict[TopicPartition, int]


async def take_batch(consumer: AIOKafkaConsumer, max_records: int, within_s: float) -> tuple[Records, Offsets]:
    """Up to ``max_records`` records, waiting at most ``within_s`` after the first arrived.

    A backlog fills a batch at once; a trickle is flushed ``within_s`` after its first event,
    which bounds both freshness and the number of small parts written to ClickHouse."""
    records: Records = []
    offsets: Offsets = {}
    deadline: float | None = None
    while len(records) < max_records:
        wait = 1.0 if deadline is None else deadline - time.monotonic()
        if wait <= 0:
            break
        fetched = await consumer.getmany(timeout_ms=int(wait * 1000), max_records=max_records - len(records))
        if not fetched and deadline is None:
            return records, offsets  # idle: let the caller look around (shutdown, health)
        for tp, msgs in fetched.items():
            records.extend(msgs)
            offsets[tp] = msgs[-1].offset + 1
        if records and deadline is None:
            deadline = time.monotonic() + within_s
    return records, offsets


async def commit(consumer: AIOKafkaConsumer, offsets: Offsets) -> None:
    try:
        await consumer.commit(offsets)
    except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as err:
        # The partitions moved to another worker mid-batch; it re-reads from the last commit and
        # storage drops the duplicates. Nothing is lost.
        log.warning("offsets not committed after a rebalance (%s); the new owner re-reads them", err)


async def run(
    consumer: AIOKafkaConsumer,
    *,
    prepare: Callable[[Records], Any],
    store: Callable[[Any], Awaitable[None]],
    batch_size: int,
    within_s: float,
) -> None:
    """Fetch → ``prepare`` (CPU, on the loop) → ``store`` (I/O, off the loop) → commit, with one
    stored batch in flight while the next is prepared. Batches are stored in fetch order."""

    async def store_and_commit(prepared: Any, offsets: Offsets) -> None:
        await store(prepared)
        await commit(consumer, offsets)

    in_flight: asyncio.Future[None] | None = None
    try:
        while True:
            records, offsets = await take_batch(consumer, batch_size, within_s)
            if not records:
                continue
            prepared = prepare(records)
            if in_flight is not None:
                await asyncio.shield(in_flight)
            in_flight = asyncio.ensure_future(complete_or_die(store_and_commit(prepared, offsets), "ingest batch"))
    finally:
        if in_flight is not None:
            await asyncio.shield(in_flight)  # complete_or_die finishes it or exits the process
