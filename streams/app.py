"""The Faust app, built from settings by ``create_app``: topics, one stage each, the HTTP views.

    raw topics ──► ingest ──► events (ClickHouse) ──► links ──► identity ──► live attribution
                     └──► dead-letter topic ──► dead letters ──► dead_letters (ClickHouse)

Read the stages in the order they run: ``ingest/stage.py``, ``identity/stage.py``,
``attribution/live.py``. ``ingest`` carries the volume and reads whole fetches from aiokafka
beside Faust's agents (docs/decisions/ingest-beside-faust.md); the two agents take batches with
``take_events``. Every stage stores a batch before its offsets are acknowledged
(``runtime.complete_or_die``); storage is idempotent, so redelivery after a crash counts each
event once. ``concurrency=1`` everywhere: with several concurrent actors Faust can commit past an
in-flight message (faust-streaming issue #606).

A worker runs all three stages by default; ``PARCOURS_STAGES`` picks a subset, so that with a
ClickHouse server the identity stage can run in a worker of its own (``streams.topics`` names
each subset's consumer group).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import timedelta
from typing import Any, cast

import faust
from faust.streams import Stream
from faust.types import EventT

from streams import allocators, web
from streams.attribution.live import LiveCredits, credit_unlinked
from streams.errors import TransientError
from streams.identity.erased import Erasures, follow, publish_record
from streams.identity.links import LINKS_PER_MESSAGE, Links, Part, parse_message
from streams.identity.stage import IdentityStage
from streams.ingest.replay_guard import screen_links
from streams.ingest.stage import IngestStage, dead_letter_rows
from streams.kafka import faust_credentials
from streams.runtime import HEALTH, complete_or_die, with_retry
from streams.settings import Settings
from streams.store import open_backend
from streams.store.backend import Backend
from streams.store.migrations import migrate
from streams.topics import TopicNames, agents_group

log = logging.getLogger("parcours")


class Worker:
    """What a worker's stages share: the store, opened and migrated on first use, and the
    erasures, read from their topic. Both block: call them off the loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.names = TopicNames(prefix=settings.topic_prefix)
        self._backend: Backend | None = None
        # Two locks: the ingest stage asks for the erasures on the loop thread each batch, and must
        # not wait while another thread opens and migrates the store.
        self._backend_lock = threading.Lock()
        self._follow_lock = threading.Lock()
        # Every stage screens what it reads with the erasures, so a replay does not rebuild an erased person.
        self._erasures = Erasures(
            settings.pii_pepper.get_secret_value() if settings.pii_pepper else "",
            future_stamp_s=settings.future_stamp_tolerance_s,
        )
        self._follower: threading.Thread | None = None

    def backend(self) -> Backend:
        with self._backend_lock:
            if self._backend is None:
                b = open_backend(self.settings)
                migrate(b, retention_days=self.settings.retention_days)
                self._backend = b
            return self._backend

    def erasures(self) -> Erasures:
        """Once the topic is read to its end: nothing is ingested, stored or linked before, or a
        replay could slip past an erasure."""
        with self._follow_lock:
            if self._follower is None:
                self._follower = follow(self.settings, self._erasures)
        wait = self.settings.erasures_wait_s
        if not self._erasures.ready.wait(wait):
            raise TransientError(f"erasures topic {self.names.erasures} not read within {wait:.0f} s")
        return self._erasures


class _Linking:
    """The identity stage and the live attribution stage after it, reloaded from ClickHouse
    whenever partitions are (re)assigned: one writer of the identity map."""

    def __init__(self, worker: Worker) -> None:
        self._w = worker
        self.stages: tuple[IdentityStage, LiveCredits] | None = None

    def get(self) -> tuple[IdentityStage, LiveCredits]:
        if self.stages is None:
            s, backend = self._w.settings, self._w.backend()
            identity = IdentityStage(
                s, backend, erasures=self._w.erasures(), publish=lambda row: publish_record(s, row)
            )
            log.info("identity stage loaded %d identifiers", identity.load())
            live = LiveCredits(s, backend)
            live.load()
            self.stages = identity, live
        return self.stages


def _batches(stream: faust.StreamT[bytes], size: int, within_s: float) -> AsyncIterator[Sequence[EventT[bytes]]]:
    """Batches of ``size`` messages; Faust acks them when the agent asks for the next batch."""
    return cast(Stream[bytes], stream).take_events(size, within=within_s)


def create_app(settings: Settings) -> faust.App:
    """The worker's Faust app: topics, the stages ``settings.stages`` names, timers, HTTP views."""
    worker = Worker(settings)
    names = worker.names
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
        # A links message carries hundreds of links as columns: batches this size carry several
        # in one request on the single links partition (the broker takes up to 1 MB).
        producer_max_batch_size=512 * 1024,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # The agents read dead letters and chunks of links, not raw events: their buffers count
        # messages, and a chunk carries up to LINKS_PER_MESSAGE links.
        stream_buffer_maxsize=256,
        broker_max_poll_records=500,
        logging_config=None,
    )
    # Retention as ``parcours topics`` sets it (streams.kafka.topic_configs), should Faust create them first.
    retention = timedelta(days=settings.topic_retention_days) if settings.topic_retention_days else None
    raw: dict[str, Any] = {"value_type": bytes, "key_type": bytes, "value_serializer": "raw", "key_serializer": "raw"}
    dead_letter_topic = app.topic(names.dead_letters, retention=retention, **raw)
    links_topic = app.topic(names.identity_links, partitions=1, retention=retention, **raw)

    def send_to(topic: Any) -> Any:
        def send(key: bytes, value: bytes) -> Awaitable[Awaitable[Any]]:
            return cast(Awaitable[Awaitable[Any]], topic.send(key=key, value=value, force=True))

        return send

    if "ingest" in settings.stages:
        ingest = IngestStage(
            settings,
            backend=worker.backend,
            erasures=worker.erasures,
            send_dead_letter=send_to(dead_letter_topic),
            send_links=send_to(links_topic),
            credit_unlinked=lambda backend, events: credit_unlinked(backend, settings, events),
        )
        app.task(ingest.run)

    if "dead_letters" in settings.stages:

        async def dead_letter_batch(events: Sequence[Any]) -> None:
            erasures = await with_retry(worker.erasures, what="reading the erasures topic")
            rows, erased = dead_letter_rows([ev.message for ev in events], erasures, settings.pepper())
            HEALTH.count("erased_dropped", erased)
            await with_retry(lambda: worker.backend().insert("dead_letters", rows), what="storing dead letters")

        async def dead_letters(stream: faust.StreamT[bytes]) -> None:
            async for events in _batches(stream, settings.batch_size, settings.batch_within_s):
                await complete_or_die(dead_letter_batch(events), "dead-letter batch")

        app.agent(dead_letter_topic, concurrency=1, name="dead_letters")(dead_letters)

    if "identity" in settings.stages:
        linking = _Linking(worker)

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode's stub omits async receivers
        async def reload_identity(sender: Any, *args: Any, signal: Any = None, **kw: Any) -> None:
            linking.stages = None

        async def identity_batch(events: Sequence[Any]) -> None:
            parts: list[Part] = []
            known = await with_retry(worker.erasures, what="reading the erasures topic")
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
            identity, live = await with_retry(linking.get, what="loading identity map")
            t0 = time.perf_counter()
            change = await with_retry(identity.process, parts, what="storing identity map")
            t1 = time.perf_counter()
            stats = await with_retry(live.credit, change, what="storing live credits")
            HEALTH.spent("identity.process", t1 - t0)
            HEALTH.spent("attribution.live", time.perf_counter() - t1)
            HEALTH.count("identity_links", sum(len(p) for p in parts if isinstance(p, Links)))
            HEALTH.count("live_credited", stats["credited"])
            HEALTH.count("live_history_read", stats["history_read"])  # events read to credit them

        async def identity_agent(stream: faust.StreamT[bytes]) -> None:
            # Messages are chunks of links: a batch holds about settings.batch_size links.
            size = max(1, settings.batch_size // LINKS_PER_MESSAGE)
            async for events in _batches(stream, size, settings.batch_within_s):
                await complete_or_die(identity_batch(events), "identity batch")

        app.agent(links_topic, concurrency=1, name="identity")(identity_agent)

    @app.timer(interval=2.0)
    async def probe_store() -> None:
        """Health reflects a store outage even while no batch is being written."""
        try:
            await asyncio.to_thread(lambda: worker.backend().query("SELECT 1 AS ok"))
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

    web.register(app, settings, backend=worker.backend, dead_letter_topic=dead_letter_topic)
    return app
