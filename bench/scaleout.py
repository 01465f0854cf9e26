"""Scale-out at benchmark volume: one worker, then two in one consumer group, then two that split
the stages (ingest and dead letters in one, the identity stage in the other), on the same events.

Each configuration gets its own topics and its own store server (``parcours store serve``, the
ClickHouse HTTP interface over chDB), as several workers share a ClickHouse server in production.
The runs must store the same events, the same identity map and the same dead letters; the
figures are each configuration's drain rate of the raw topics, and its time until everything
(links and dead letters too) was consumed.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import corpus
from bench.kafka_fill import fill
from streams.devstack import KafkaBroker, StoreServer, Worker, consumer_lag, start_group, worker_env
from streams.kafka import ensure_topics
from streams.settings import Settings
from streams.store.http import HttpBackend
from streams.topics import TopicNames

FINGERPRINTS = {
    "events": "SELECT count() AS n, toString(groupBitXor(cityHash64(event_id))) AS h FROM events_dedup",
    "identity_map": (
        "SELECT count() AS n, toString(groupBitXor(cityHash64(identifier, person_id))) AS h FROM identity_current"
    ),
    "dead_letters": "SELECT count() AS n, toString(groupBitXor(cityHash64(payload))) AS h FROM dead_letters FINAL",
}


def _wait(bootstrap: str, app_id: str, topics: list[str], workers: list[Worker]) -> None:
    while consumer_lag(bootstrap, app_id, topics) > 0:
        for w in workers:
            w.check_running()
        time.sleep(0.5)


def configuration(
    bootstrap: str, root: Path, workers: int, payloads: list[bytes], stages: tuple[str, ...] = ()
) -> dict[str, Any]:
    root.mkdir(parents=True)
    store = StoreServer(root / "store", root / "store.log")
    store.start()
    prefix = f"so{uuid.uuid4().hex[:6]}"
    ensure_topics(Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix, topic_partitions=4))
    names = TopicNames(prefix=prefix)
    env = worker_env(
        bootstrap=bootstrap,
        data_dir=root / "w",
        app_id=f"{prefix}-g",
        PARCOURS_TOPIC_PREFIX=prefix,
        PARCOURS_CLICKHOUSE_URL=store.url,
    )
    procs: list[Worker] = []
    try:
        procs = start_group(env, workers, root, stages=stages)
        t0 = time.perf_counter()
        fill(bootstrap, prefix, payloads)
        topics = [*names.all_raw, names.dead_letters, names.identity_links]
        _wait(bootstrap, env["PARCOURS_APP_ID"], list(names.all_raw), procs)
        seconds = time.perf_counter() - t0
        _wait(bootstrap, env["PARCOURS_APP_ID"], topics, procs)
        all_seconds = time.perf_counter() - t0
        stored = [w.health()["counters"].get("events_stored", 0) for w in procs]
        backend = HttpBackend(store.url)
        prints = {k: backend.query(q)[0] for k, q in FINGERPRINTS.items()}
        backend.close()
        return {
            "stages": list(stages) or ["all"] * workers,
            "events_per_s": len(payloads) / seconds,
            "seconds_until_all_consumed": all_seconds,
            "stored_per_worker": stored,
            "fingerprints": prints,
        }
    finally:
        for w in procs:
            w.stop()
        store.stop()


def run(n_events: int = 200_000) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="parcours-scaleout-"))
    broker = KafkaBroker(root / "kafka")
    bootstrap = broker.start()
    try:
        valid = corpus(n_events, seed=3)
        # ~1% invalid and ~1% redelivered, as in production: dead letters and dedupe must split too
        junk = [b'{"type": "page_view", "broken": ' + str(i).encode() for i in range(n_events // 100)]
        payloads = valid + junk + valid[::100]
        one = configuration(bootstrap, root / "one", 1, payloads)
        two = configuration(bootstrap, root / "two", 2, payloads)
        split = configuration(bootstrap, root / "split", 2, payloads, ("ingest,dead_letters", "identity"))
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "events": n_events,
        "published": len(payloads),
        "one_worker": one,
        "two_workers": two,
        "split_stages": split,
        "same_results": one["fingerprints"] == two["fingerprints"] == split["fingerprints"],
        "speedup_two_vs_one": two["events_per_s"] / one["events_per_s"],
        "speedup_split_vs_one": split["events_per_s"] / one["events_per_s"],
    }
