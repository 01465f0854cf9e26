"""The Faust app: topics and one stage each.

    raw topics ──► ingest ──► events (ClickHouse) ──► links ──► identity ──► map, live credits
                     └──► dead-letter topic ──► dead_letters ──► dead_letters (ClickHouse)

``ingest`` carries the volume and reads whole fetches from aiokafka (``streams.ingest.consumer``
says why); the two agents take batches with ``take_events``. Every stage stores a batch before
its offsets are acknowledged (``runtime.complete_or_die``); storage is idempotent, so
redelivery after a crash counts each event once. ``concurrency=1`` everywhere: with several
concurrent actors Faust can commit past an in-flight message (faust-streaming issue #606).

A worker runs all three stages by default; ``PARCOURS_STAGES`` picks a subset, so that with a
ClickHouse server the identity stage can run in a worker of its own (``streams.topics``
names each subset's consumer group).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
import orjson
import pyarrow as pa
from aiokafka import AIOKafkaConsumer
from faust.streams import Stream
from faust.types import EventT

from streams import allocators
from streams.errors import TransientError
from streams.identity.erased import Erasures, follow, publish_record
from streams.identity.links import LINKS_PER_MESSAGE, Links, Part, parse_message
from streams.identity.stage import IdentityStage
from streams.ingest import consumer as consumer_loop
from streams.ingest.fetch import RecordSet, whole_sets
from streams.ingest.fetch import install as install_whole_sets
from streams.ingest.normalize import DeadLetter, Normalized, Normalizer, RawBatch
from streams.ingest.pii import scrub_payload
from streams.ingest.replay_guard import screen_dead_letters, screen_events, screen_links
from streams.ingest.stored import store_events
from streams.ingest.stored_ids import StoredIds, refuse_stored_copies
from streams.kafka import aiokafka_kwargs, faust_credentials
from streams.runtime import EXIT_TERMINAL, HEALTH, complete_or_die, tune_gc, with_retry
from streams.settings import Settings, get_settings
from streams.store.backend import Backend, open_backend
from streams.store.columns import events_table_or_quarantine
from streams.store.migrations import migrate
from streams.topics import TopicNames, agents_group, ingest_group

log = logging.getLogger("parcours")
settings: Settings = get_settings()
names = TopicNames(prefix=settings.topic_prefix)

app = faust.App(
    agents_group(settings.app_id, settings.stages),
    broker=["kafka://" + h.strip() for h in settings.kafka_bootstrap.split(",")],
    broker_credentials=faust_credentials(settings),
    store="memory://",
    autodiscover=False,
    web_enabled=True,
    web_port=settings.web_port,
    web_bind=settings.web_host,
    web_host=settings.web_host,
    datadir=str(settings.data_dir / "faust"),
    topic_partitions=settings.topic_partitions,
    topic_allow_declare=True,
    consumer_auto_offset_reset="earliest",
    broker_session_timeout=settings.kafka_session_timeout_s,
    broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 4),
    producer_acks=-1,
    # A links message is ~60 KB (500 links as columns): with the default 16 KB batches each went
    # out in a request of its own, one round trip after another on the single links partition
    # (~10 ms each while the loop prepares the next batch). 512 KB batches carry ~8; the broker
    # takes up to 1 MB.
    producer_max_batch_size=512 * 1024,
    broker_commit_every=1000,
    broker_commit_interval=1.0,
    # The agents read dead letters and chunks of links, not raw events: their buffers count
    # messages, and a chunk carries up to LINKS_PER_MESSAGE links (256 chunks: ~15 MB, 128k links).
    stream_buffer_maxsize=256,
    broker_max_poll_records=500,
    logging_config=None,
)

# Retention as ``parcours topics`` sets it (streams.kafka.topic_configs), should Faust create them first.
_retention = timedelta(days=settings.topic_retention_days) if settings.topic_retention_days else None
dead_letter_topic = app.topic(
    names.dead_letters,
    value_type=bytes,
    key_type=bytes,
    value_serializer="raw",
    key_serializer="raw",
    retention=_retention,
)
links_topic = app.topic(
    names.identity_links,
    partitions=1,
    value_type=bytes,
    key_type=bytes,
    value_serializer="raw",
    key_serializer="raw",
    retention=_retention,
)

# Erasures this worker knows, from the erasures topic (streams.identity.erased): every stage
# screens what it reads with them, so a replay does not rebuild an erased person.
erasures = Erasures(
    settings.pii_pepper.get_secret_value() if settings.pii_pepper else "",
    future_stamp_s=settings.future_stamp_tolerance_s,
)
_follower: threading.Thread | None = None
_follower_lock = threading.Lock()


def known_erasures() -> Erasures:
    """The erasures, once the topic is read to its end (blocking; call off the loop): nothing is
    ingested, stored or linked before, or a replay could slip past an erasure."""
    global _follower
    with _follower_lock:
        if _follower is None:
            _follower = follow(settings, erasures)
    if not erasures.ready.wait(settings.erasures_wait_s):
        raise TransientError(f"erasures topic {names.erasures} not read within {settings.erasures_wait_s:.0f} s")
    return erasures


_backend: Backend | None = None
_backend_lock = threading.Lock()


def backend() -> Backend:
    """The worker's store, opened and migrated on first use (blocking; call off the loop)."""
    global _backend
    with _backend_lock:
        if _backend is None:
            b = open_backend(settings)
            migrate(b, retention_days=settings.retention_days)
            _backend = b
        return _backend


def _store(table_rows: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
    b = backend()
    for table, rows in table_rows:
        b.insert(table, rows)


normalizer = Normalizer(settings, native=settings.native_decoder)
stored_ids = StoredIds()


def _batches(stream: faust.StreamT[bytes], size: int) -> AsyncIterator[Sequence[EventT[bytes]]]:
    """Batches of ``size`` messages; Faust acks them when the agent asks for the next batch."""
    return cast(Stream[bytes], stream).take_events(size, within=settings.batch_within_s)


@dataclass(frozen=True, slots=True)
class _Prepared:
    out: Normalized
    events: pa.Table
    batch: RawBatch  # the raw records (a dead letter's payload)
    erased: int = 0  # records of erased persons dropped (the replay guard)


# Events normalized between two yields to the loop. With the native decoder a slice of 4,000 takes
# ~30-60 ms, what 1,000 took before; alternating 200k-event drains: 24,251 / 21,430 events/s at
# 4,000 against 21,424 / 19,243 at 1,000 (fewer per-slice calls, more identities shared per slice).
PREPARE_SLICE = 4000


async def _prepare(sets: list[RecordSet]) -> _Prepared:
    """On the loop thread: all the batch's Python work, so that storing the previous batch (chDB
    releases the GIL) overlaps it instead of contending with it. It yields to the loop between
    slices: the batch in flight sends its links and dead letters and awaits acks on this loop,
    and holding the loop for a whole 10,000-event batch left those waiting (bench/README.md)."""
    now_us = time.time_ns() // 1000
    out = Normalized()
    # The native decoder runs here, on the loop's thread, with the GIL released: in a thread of its
    # own (reading slice k+1 while the loop finished slice k) the worker's Python threads spent 25%
    # more CPU handing the GIL around, and 1M-event drains ran at 32,713 against 36,985 events/s.
    # Within a slice the decoder reads half on a native thread of its own, which needs no GIL: 1M
    # drains alternating with one thread ran at 85,856 / 83,564 / 78,031 against 78,599 / 73,479 /
    # 77,777 events/s (bench/README.md, twelfth session).
    batch = consumer_loop.raw_batch(sets, now_us)
    for start in range(0, len(batch), PREPARE_SLICE):
        out.extend(normalizer.normalize(batch.section(start, start + PREPARE_SLICE)))
        await asyncio.sleep(0)
    t0 = time.perf_counter()
    table = events_table_or_quarantine(out, normalizer)
    HEALTH.spent("ingest.prepare.to_arrow", time.perf_counter() - t0)
    table, dropped = screen_events(table, erasures)
    if dropped:
        out.links = out.links.without(dropped)
    n_dead = len(out.dead)
    out.dead = screen_dead_letters(out.dead, erasures)
    return _Prepared(out, table, batch, len(dropped) + n_dead - len(out.dead))


def _insert_events(table: pa.Table) -> None:
    t0 = time.perf_counter()
    store_events(backend(), table, settings)
    HEALTH.spent("ingest.store.insert", time.perf_counter() - t0)


def _refuse_stored_copies(prepared: _Prepared) -> pa.Table:
    # the store is opened here, in the retried call: an outage is retried like the insert
    return refuse_stored_copies(backend(), stored_ids, normalizer, prepared.batch, prepared.out, prepared.events)


async def _store_prepared(prepared: _Prepared) -> None:
    out = prepared.out
    # A copy of an event stored before the window's memory, with other content: refused, the original kept.
    events = await with_retry(_refuse_stored_copies, prepared, what="checking stored ids")
    await with_retry(_insert_events, events, what="storing events")
    t0 = time.perf_counter()
    # All sends are enqueued in one turn of the loop. Awaited one by one, each send let a slice of
    # the next batch's preparation run first: 35 sends a batch took ~10 ms each (bench/README.md).
    # Links travel as columns in chunks (``streams.identity.links``): one send per event cost more
    # than storing it.
    sends = [dead_letter_topic.send(key=d.dl_id.encode(), value=d.message(), force=True) for d in out.dead]
    sends += [links_topic.send(key=b"links", value=m, force=True) for m in out.links.messages()]
    deliveries = await asyncio.gather(*sends)
    t1 = time.perf_counter()
    await asyncio.gather(*deliveries)
    HEALTH.spent("ingest.store.produce", t1 - t0)
    HEALTH.spent("ingest.store.acks", time.perf_counter() - t1)
    HEALTH.count("events_stored", events.num_rows)
    HEALTH.count("erased_dropped", prepared.erased)
    HEALTH.count("dead_letters", len(out.dead))
    HEALTH.count("duplicates_dropped", out.duplicates)


async def ingest() -> None:
    """Raw topics → normalize → events, dead letters, links (``streams.ingest.consumer``).

    A Faust task that fails is only logged while the worker runs on: a worker that no longer
    ingests must instead exit, so that its supervisor restarts it and the group rebalances."""
    try:
        await _ingest()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.critical("ingest stopped on an unexpected error; exiting", exc_info=True)
        logging.shutdown()
        os._exit(EXIT_TERMINAL)


def _warm_arrow() -> None:
    # pyarrow imports pandas (installed: chdb-core requires it) at its first conversion of a Python
    # list, ~0.33 s that otherwise delayed the first batch. Here it overlaps the group join.
    pa.array([0])


async def _open_store_early() -> None:
    await asyncio.to_thread(_warm_arrow)
    try:
        await asyncio.to_thread(backend)
    except Exception as err:  # noqa: BLE001 — the first batch's store step retries it and reports
        log.info("store not ready at start-up (%s); the first batch will retry", err)


async def _ingest() -> None:
    whole = install_whole_sets()
    consumer = AIOKafkaConsumer(
        group_id=ingest_group(settings.app_id),
        client_id=f"{settings.app_id}-ingest",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.batch_size,
        fetch_max_bytes=64 << 20,
        # Whole record sets instead of a Python object per message (``streams.ingest.fetch``). A
        # batch takes one partition's fetch at a time: ~10,000 of our ~400-byte events at most.
        max_partition_fetch_bytes=4 << 20,
        value_deserializer=whole_sets if whole else None,
        session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, settings.kafka_session_timeout_s / 4) * 1000),
        **aiokafka_kwargs(settings),
    )
    tune_gc()
    await with_retry(known_erasures, what="reading the erasures topic")
    consumer.subscribe(list(names.all_raw), listener=consumer_loop.ShowAssignment())
    # The store opens and migrates (~0.45 s) while the consumer joins its group (~1.3 s), instead of
    # after the first batch is prepared: the first batch was stored ~0.5 s sooner (start-up trace).
    opening = asyncio.ensure_future(_open_store_early())
    await consumer_loop.start(consumer)
    try:
        await consumer_loop.run(
            consumer,
            prepare=_prepare,
            store=_store_prepared,
            batch_size=settings.batch_size,
            within_s=settings.batch_within_s,
            whole_sets=whole,
        )
    finally:
        opening.cancel()
        await consumer.stop()


async def _dead_letter_batch(events: Sequence[Any]) -> None:
    letters = []
    for ev in events:
        m = ev.message
        try:
            letters.append(DeadLetter.from_message(m.value))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            # Someone else wrote junk to our dead-letter topic: keep it, as a dead letter.
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
    kept = screen_dead_letters(letters, await with_retry(known_erasures, what="reading the erasures topic"))
    HEALTH.count("erased_dropped", len(letters) - len(kept))
    # Whoever wrote the topic (an older collector, another producer), the payload kept is scrubbed.
    pepper = settings.pepper()
    rows = [replace(d, payload=scrub_payload(d.payload, pepper, screened=False)).row() for d in kept]
    await with_retry(_store, [("dead_letters", rows)], what="storing dead letters")


async def dead_letters(stream: faust.StreamT[bytes]) -> None:
    async for events in _batches(stream, settings.batch_size):
        await complete_or_die(_dead_letter_batch(events), "dead-letter batch")


class _IdentityOwner:
    """The identity stage, reloaded from ClickHouse whenever partitions are (re)assigned."""

    stage: IdentityStage | None = None

    def get(self) -> IdentityStage:
        if self.stage is None:
            stage = IdentityStage(
                settings, backend(), erasures=known_erasures(), publish=lambda row: publish_record(settings, row)
            )
            n = stage.load()
            log.info("identity stage loaded %d identifiers", n)
            self.stage = stage
        return self.stage


identity_owner = _IdentityOwner()


@app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode's stub omits async receivers
async def _reload_identity(sender: Any, *args: Any, signal: Any = None, **kw: Any) -> None:
    identity_owner.stage = None


async def _identity_batch(events: Sequence[Any]) -> None:
    parts: list[Part] = []
    known = await with_retry(known_erasures, what="reading the erasures topic")
    for ev in events:
        try:
            part = parse_message(ev.message.value)
            if isinstance(part, Links) and ev.message.timestamp is not None:
                # the links topic read again (a new consumer group): an erased person stays unlinked
                kept = screen_links(part, int(ev.message.timestamp * 1_000_000), known)
                HEALTH.count("erased_dropped", len(part) - len(kept))
                part = kept
            parts.append(part)
        except ValueError as err:  # anything parse_message cannot read
            # Not ours to link (someone wrote junk to the topic): say so, and go on.
            m = ev.message
            log.error("links message %s/%s/%s skipped: %s", m.topic, m.partition, m.offset, err)
    stage = await with_retry(identity_owner.get, what="loading identity map")
    t0 = time.perf_counter()
    stats = await with_retry(stage.process, parts, what="storing identity map")
    HEALTH.spent("identity.process", time.perf_counter() - t0)
    HEALTH.count("identity_links", sum(len(p) for p in parts if isinstance(p, Links)))
    HEALTH.count("live_credited", stats["credited"])
    HEALTH.count("live_history_read", stats["history_read"])  # events read to credit them


async def identity(stream: faust.StreamT[bytes]) -> None:
    # Messages are chunks of links: a batch holds about settings.batch_size links.
    async for events in _batches(stream, max(1, settings.batch_size // LINKS_PER_MESSAGE)):
        await complete_or_die(_identity_batch(events), "identity batch")


# The stages this worker runs (PARCOURS_STAGES; all three by default). Identity in workers of its
# own keeps its single writer off the ingest workers' interpreter (bench/README.md).
if "ingest" in settings.stages:
    app.task(ingest)
if "dead_letters" in settings.stages:
    app.agent(dead_letter_topic, concurrency=1)(dead_letters)
if "identity" in settings.stages:
    app.agent(links_topic, concurrency=1)(identity)


@app.timer(interval=2.0)
async def probe_store() -> None:
    """Health reflects a store outage even while no batch is being written."""
    try:
        await asyncio.to_thread(lambda: backend().query("SELECT 1 AS ok"))
    except TransientError as err:
        HEALTH.failed(err)
        log.warning("store unavailable: %s", err)
    else:
        if HEALTH.recovered():
            log.warning("store available again")


@app.timer(interval=allocators.RELEASE_EVERY_S)
async def release_memory() -> None:
    """Free pages back to the system: resident memory follows what is alive (streams/allocators.py)."""
    HEALTH.spent("memory.release", allocators.release())


from streams import web  # noqa: E402,F401  — registers the HTTP views on ``app``
