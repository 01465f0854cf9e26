"""The ingest stage: raw topics → normalize → events (ClickHouse), dead letters, identity links.

One batch, in the order its steps run:

1. ``consumer.take_batch`` fetches whole record sets (``fetch``) from the raw topics;
2. ``prepare`` (on the loop, yielding between slices): ``normalize`` validates, corrects event
   time and deduplicates (the native ``decoder`` first, the reference path for the rest), then
   ``columns`` builds the events table and ``replay_guard`` drops erased persons' records;
3. ``store`` (off the loop, retried): ``stored_ids`` refuses copies of stored events with other
   content, ``stored`` writes the events, the live attribution stage credits what no link will
   ever reach; then the dead letters and the links are produced and acknowledged;
4. ``consumer.commit`` commits the batch's offsets.

The stage is handed what is shared with the rest of the worker (settings, the store, the erasures,
where to send, the live attribution stage's crediting) by the app factory (``streams.app``); it
builds only what is its own (its normalizer, its stored-id filter, its consumer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
from aiokafka import AIOKafkaConsumer

from streams.identity.erased import Erasures
from streams.identity.pii import scrub_payload
from streams.ingest import consumer as consumer_loop
from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.fetch import RecordSet, whole_sets
from streams.ingest.fetch import install as install_whole_sets
from streams.ingest.normalize import DeadLetter, Normalized, Normalizer, RawBatch
from streams.ingest.replay_guard import screen_dead_letters, screen_events
from streams.ingest.stored import store_events
from streams.ingest.stored_ids import StoredIds, refuse_stored_copies
from streams.kafka import aiokafka_kwargs
from streams.runtime import EXIT_TERMINAL, HEALTH, tune_gc, with_retry
from streams.settings import Settings
from streams.store.backend import Backend
from streams.topics import TopicNames, ingest_group

log = logging.getLogger("parcours")

Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]  # (key, value) → the delivery to await

# Events normalized between two yields to the loop (docs/decisions/ingest-beside-faust.md).
PREPARE_SLICE = 4000


@dataclass(frozen=True, slots=True)
class Prepared:
    out: Normalized
    events: pa.Table
    batch: RawBatch  # the raw records (a dead letter's payload)
    erased: int = 0  # records of erased persons dropped (the replay guard)


class IngestStage:
    def __init__(
        self,
        settings: Settings,
        *,
        backend: Callable[[], Backend],
        erasures: Callable[[], Erasures],
        send_dead_letter: Send,
        send_links: Send,
        credit_unlinked: Callable[[Backend, pa.Table], None],
    ) -> None:
        """``backend`` and ``erasures`` block (the store opens, the erasures topic is read to its
        end) and are called off the loop; ``credit_unlinked`` is the live attribution stage's."""
        self._s = settings
        self._backend = backend
        self._erasures = erasures
        self._send_dead_letter = send_dead_letter
        self._send_links = send_links
        self._credit_unlinked = credit_unlinked
        self.normalizer = Normalizer(settings, native=settings.native_decoder)
        self._stored_ids = StoredIds()

    async def prepare(self, sets: list[RecordSet]) -> Prepared:
        """On the loop thread: all the batch's Python work, so that storing the previous batch
        (chDB releases the GIL) overlaps it. It yields to the loop between slices: the batch in
        flight sends its links and dead letters and awaits their acks on this loop."""
        now_us = time.time_ns() // 1000
        out = Normalized(names=self.normalizer.names)
        # The native decoder runs on the loop's thread with the GIL released, and reads half a
        # slice on a native thread of its own (docs/decisions/native-decoder.md).
        batch = consumer_loop.raw_batch(sets, now_us)
        for start in range(0, len(batch), PREPARE_SLICE):
            out.extend(self.normalizer.normalize(batch.section(start, start + PREPARE_SLICE)))
            await asyncio.sleep(0)
        t0 = time.perf_counter()
        table = events_table_or_quarantine(out, self.normalizer)
        HEALTH.spent("ingest.prepare.to_arrow", time.perf_counter() - t0)
        erasures = self._erasures()
        table, dropped = screen_events(table, erasures)
        if dropped:
            out.links = out.links.without(dropped)
        n_dead = len(out.dead)
        out.dead = screen_dead_letters(out.dead, erasures)
        return Prepared(out, table, batch, len(dropped) + n_dead - len(out.dead))

    def _refuse_stored_copies(self, prepared: Prepared) -> pa.Table:
        # the store is opened here, in the retried call: an outage is retried like the insert
        return refuse_stored_copies(
            self._backend(), self._stored_ids, self.normalizer, prepared.batch, prepared.out, prepared.events
        )

    def _insert_events(self, table: pa.Table) -> None:
        t0 = time.perf_counter()
        backend = self._backend()
        store_events(backend, table, self._s)
        self._credit_unlinked(backend, table)
        HEALTH.spent("ingest.store.insert", time.perf_counter() - t0)

    async def store(self, prepared: Prepared) -> None:
        out = prepared.out
        # A copy of an event stored before the window's memory, with other content: refused, the original kept.
        events = await with_retry(self._refuse_stored_copies, prepared, what="checking stored ids")
        await with_retry(self._insert_events, events, what="storing events")
        t0 = time.perf_counter()
        # All sends are enqueued in one turn of the loop, then awaited together: awaited one by
        # one, each let a slice of the next batch's preparation run first.
        sends = [self._send_dead_letter(d.dl_id.encode(), d.message()) for d in out.dead]
        sends += [self._send_links(b"links", m) for m in out.links.messages()]
        deliveries = await asyncio.gather(*sends)
        t1 = time.perf_counter()
        await asyncio.gather(*deliveries)
        HEALTH.spent("ingest.store.produce", t1 - t0)
        HEALTH.spent("ingest.store.acks", time.perf_counter() - t1)
        HEALTH.count("events_stored", events.num_rows)
        HEALTH.count("erased_dropped", prepared.erased)
        HEALTH.count("dead_letters", len(out.dead))
        HEALTH.count("duplicates_dropped", out.duplicates)

    async def run(self) -> None:
        """The stage as a Faust task. A Faust task that fails is only logged while the worker
        runs on: a worker that no longer ingests must instead exit, so that its supervisor
        restarts it and the group rebalances."""
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("ingest stopped on an unexpected error; exiting", exc_info=True)
            logging.shutdown()
            os._exit(EXIT_TERMINAL)

    async def _open_store_early(self) -> None:
        # pyarrow imports pandas at its first conversion of a Python list: done here, while the
        # consumer joins its group, and so is opening and migrating the store.
        await asyncio.to_thread(pa.array, [0])
        try:
            await asyncio.to_thread(self._backend)
        except Exception as err:  # noqa: BLE001 — the first batch's store step retries it and reports
            log.info("store not ready at start-up (%s); the first batch will retry", err)

    async def _run(self) -> None:
        s = self._s
        whole = install_whole_sets()
        consumer = AIOKafkaConsumer(
            group_id=ingest_group(s.app_id),
            client_id=f"{s.app_id}-ingest",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.batch_size,
            fetch_max_bytes=64 << 20,
            # Whole record sets (``streams.ingest.fetch``): a batch takes one partition's fetch
            # at a time, so this bounds how far a batch passes ``batch_size``.
            max_partition_fetch_bytes=4 << 20,
            value_deserializer=whole_sets if whole else None,
            session_timeout_ms=int(s.kafka_session_timeout_s * 1000),
            heartbeat_interval_ms=int(min(3.0, s.kafka_session_timeout_s / 4) * 1000),
            **aiokafka_kwargs(s),
        )
        tune_gc()
        await with_retry(self._erasures, what="reading the erasures topic")
        names = TopicNames(prefix=s.topic_prefix)
        consumer.subscribe(list(names.all_raw), listener=consumer_loop.ShowAssignment())
        opening = asyncio.ensure_future(self._open_store_early())
        await consumer_loop.start(consumer)
        try:
            await consumer_loop.run(
                consumer,
                prepare=self.prepare,
                store=self.store,
                batch_size=s.batch_size,
                within_s=s.batch_within_s,
                whole_sets=whole,
            )
        finally:
            opening.cancel()
            await consumer.stop()


def dead_letter_rows(messages: Sequence[Any], erasures: Erasures, pepper: str) -> tuple[list[dict[str, Any]], int]:
    """The dead-letter topic's messages as rows of the dead_letters table, and how many were
    dropped as an erased person's. Junk someone else wrote to the topic is kept, as a dead letter;
    whoever wrote it (an older collector, another producer), the payload kept is scrubbed."""
    letters = []
    for m in messages:
        try:
            letters.append(DeadLetter.from_message(m.value))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            letters.append(
                DeadLetter(
                    dl_id=f"{m.topic}/{m.partition}/{m.offset}",
                    reason="unparseable",
                    detail=f"dead-letter message: {err}"[:300],
                    source=m.topic,
                    event_id="",
                    payload=m.value or b"",
                    received_at=datetime.now(UTC),
                )
            )
    kept = screen_dead_letters(letters, erasures)
    rows = [replace(d, payload=scrub_payload(d.payload, pepper, screened=False)).row() for d in kept]
    return rows, len(letters) - len(kept)
