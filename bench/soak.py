"""``make soak``: a steady publish rate for ten minutes or more against one worker; consumer lag
and worker memory sampled every 10 s must stay flat. Figures go to bench/results/soak.json."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.common import corpus, live_copy, write
from bench.pipeline import rss_mb
from streams.devstack import KafkaBroker, Worker, consumer_lag, worker_env
from streams.kafka import ensure_topics
from streams.settings import Settings
from streams.topics import TopicNames


def soak(minutes: float = 10.0, rate: float = 2000.0) -> dict[str, Any]:
    from kafka import KafkaProducer

    root = Path(tempfile.mkdtemp(prefix="parcours-soak-"))
    broker = KafkaBroker(root / "kafka")
    bootstrap = broker.start()
    prefix = f"s{uuid.uuid4().hex[:6]}"
    ensure_topics(Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix))
    env = worker_env(
        bootstrap=bootstrap,
        data_dir=root / "w",
        app_id=f"{prefix}-g",
        PARCOURS_TOPIC_PREFIX=prefix,
        PARCOURS_DEDUPE_WINDOW="200000",
    )
    worker = Worker(env, root / "worker.log")
    worker.start()
    assert worker.proc is not None
    names = TopicNames(prefix=prefix)
    payloads = corpus(100_000)
    stop = threading.Event()
    published = [0]

    def publish() -> None:
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=10, acks="all")
        t0, i = time.perf_counter(), 0
        while not stop.is_set():
            due = int((time.perf_counter() - t0) * rate)
            while i < due:
                d = live_copy(payloads[i % len(payloads)])
                producer.send(names.raw(d["channel"]), orjson.dumps(d))
                i += 1
            published[0] = i
            time.sleep(0.01)
        producer.flush()
        producer.close()

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    samples = []
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < minutes * 60:
            time.sleep(10)
            samples.append(
                {
                    "t_s": round(time.perf_counter() - t0),
                    "published": published[0],
                    "lag": consumer_lag(bootstrap, env["PARCOURS_APP_ID"], list(names.all_raw)),
                    "rss_mb": round(rss_mb(worker.proc.pid), 1),
                }
            )
            print(samples[-1], flush=True)
    finally:
        stop.set()
        thread.join(30)
        worker.stop()
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
    first, last = samples[: len(samples) // 5 or 1], samples[-(len(samples) // 5 or 1) :]
    return {
        "minutes": minutes,
        "rate_per_s": rate,
        "published": published[0],
        "samples": samples,
        "lag_first_fifth_median": statistics.median(s["lag"] for s in first),
        "lag_last_fifth_median": statistics.median(s["lag"] for s in last),
        "rss_first_fifth_mb": statistics.median(s["rss_mb"] for s in first),
        "rss_last_fifth_mb": statistics.median(s["rss_mb"] for s in last),
    }


if __name__ == "__main__":
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 2000.0
    result = soak(minutes, rate)
    print(write("soak", result))
