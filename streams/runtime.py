"""What the worker's stages share at run time: the store, health, and the rule that a
batch is either fully stored or the process dies (so Kafka offsets are never acknowledged
for rows that were not written)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka.errors import KafkaError

from streams.errors import TransientError

log = logging.getLogger("parcours")
T = TypeVar("T")

EXIT_TERMINAL = 70  # EX_SOFTWARE: a batch could not be stored; offsets stay uncommitted


def tune_gc() -> None:
    """The collector settings of a process that prepares batches (the worker; the bench's stage
    profile, so that it measures what the worker runs).

    A batch allocates several tracked objects per event and keeps them until stored (two batches
    in flight); the cyclic GC would traverse them over and over at its default threshold. At
    this one most of a batch is gone before it is collected, and objects alive at start-up are
    frozen out of its view (docs/decisions/allocator-settings.md)."""
    gc.freeze()
    gc.set_threshold(500_000, 20, 100)


@dataclass
class Health:
    started: float = field(default_factory=time.time)
    store_ok: bool = True
    store_error: str = ""
    outages: int = 0
    last_batch_at: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per stage step
    ingest_partitions: list[str] = field(default_factory=list)  # "topic/partition" owned now

    def failed(self, err: Exception) -> None:
        if self.store_ok:
            self.outages += 1
        self.store_ok, self.store_error = False, str(err)[:300]

    def recovered(self) -> bool:
        was_down = not self.store_ok
        self.store_ok, self.store_error = True, ""
        return was_down

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def spent(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def snapshot(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.store_ok else "degraded",
            "store_ok": self.store_ok,
            "store_error": self.store_error,
            "store_outages": self.outages,
            "uptime_s": round(time.time() - self.started, 1),
            "last_batch_at": self.last_batch_at,
            "counters": dict(self.counters),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "ingest_partitions": list(self.ingest_partitions),
        }


HEALTH = Health()


def is_transient(err: BaseException) -> bool:
    """What a retry may cure: our transient errors, and aiokafka's retriable ones (a broker or a
    group coordinator away)."""
    return isinstance(err, TransientError) or (isinstance(err, KafkaError) and bool(err.retriable))


async def retry(call: Callable[[], Awaitable[T]], what: str, *, max_delay: float = 10.0, store: bool = False) -> T:
    """Await ``call()`` until it succeeds, with capped exponential backoff on transient errors;
    any other error propagates. ``store``: the call is a store step, whose outage and recovery
    health reports. Nothing has been acknowledged while a call is retried."""
    delay = 0.2
    while True:
        try:
            result = await call()
        except Exception as err:
            if not is_transient(err):
                raise
            if store:
                HEALTH.failed(err)
            log.warning("%s failed (%s); retrying in %.1fs", what, err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if store and HEALTH.recovered():
            log.warning("%s recovered after the outage", what)
        return result


async def with_retry(fn: Callable[..., T], *args: Any, what: str, max_delay: float = 10.0) -> T:
    """A blocking store call, off the event loop, retried as ``retry`` does."""
    return await retry(lambda: asyncio.to_thread(fn, *args), what, max_delay=max_delay, store=True)


async def complete_or_die(batch: Awaitable[Any], what: str) -> None:
    """Finish ``batch`` even if the agent is cancelled (shutdown); die on any other failure.

    Faust acknowledges a taken batch when the agent moves on or stops. Letting the batch
    finish before that, or exiting without acknowledging, keeps at-least-once delivery.
    """
    task = asyncio.ensure_future(batch)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        try:
            await task
        except BaseException:  # noqa: BLE001 — any failure here must not ack
            log.critical("%s failed during shutdown; exiting without acknowledging", what)
            os._exit(EXIT_TERMINAL)
        raise
    except BaseException:
        log.critical("%s failed; exiting without acknowledging its offsets", what, exc_info=True)
        logging.shutdown()
        os._exit(EXIT_TERMINAL)
    HEALTH.last_batch_at = time.time()
