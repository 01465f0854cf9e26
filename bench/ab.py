"""``python -m bench.ab OTHER_TREE [events] [rounds]``: one worker of this checkout and one of
another (a ``git worktree`` of an earlier commit, its native module built in place), draining the
same corpus alternately, each run on fresh topics and a fresh store; prints every run and the
medians. Ingest speed is compared side by side in one run, never against an old figure."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError

from bench.common import corpus
from bench.kafka_fill import fill
from streams.devstack import KafkaBroker, consumer_committed, worker_env
from streams.kafka import ensure_topics
from streams.settings import Settings
from streams.topics import TopicNames

HERE = Path(__file__).resolve().parent.parent


def drain(tree: Path, bootstrap: str, payloads: list[bytes], root: Path) -> float:
    """Events/s of one worker of ``tree`` draining ``payloads`` from fresh topics, counted from its
    first committed batch (its start-up, imports and group join, is not the drain's)."""
    prefix = f"ab{uuid.uuid4().hex[:6]}"
    ensure_topics(Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix, topic_partitions=4))
    fill(bootstrap, prefix, payloads)
    env = worker_env(bootstrap=bootstrap, data_dir=root / prefix, app_id=f"{prefix}-g", PARCOURS_TOPIC_PREFIX=prefix)
    env["PYTHONPATH"] = str(tree)
    topics = list(TopicNames(prefix=prefix).all_raw)
    log = (root / f"{prefix}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], cwd=tree, env=env, stdout=log, stderr=log)
    first: tuple[float, int] | None = None
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the worker of {tree} exited: see {log.name}")
            try:
                done = consumer_committed(bootstrap, env["PARCOURS_APP_ID"], topics)
            except KafkaError as err:
                if not err.retriable:  # the group's coordinator loading after start: ask again
                    raise
                done = 0
            if done >= len(payloads):
                break
            if done and first is None:
                first = (time.perf_counter(), done)
            time.sleep(0.2)
        assert first is not None
        return (len(payloads) - first[1]) / (time.perf_counter() - first[0])
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:  # a shutdown that hangs is not what is measured here
            proc.kill()
            proc.wait(30)
        log.close()


def main(argv: list[str]) -> int:
    other = Path(argv[0]).resolve()
    n = int(argv[1]) if len(argv) > 1 else 1_000_000
    rounds = int(argv[2]) if len(argv) > 2 else 3
    payloads = corpus(n)
    runs: dict[str, list[float]] = {"this": [], "other": []}
    with tempfile.TemporaryDirectory() as tmp:
        broker = KafkaBroker(Path(tmp) / "kafka")
        bootstrap = broker.start()
        try:
            for i in range(rounds):
                for name, tree in (("other", other), ("this", HERE)) if i % 2 else (("this", HERE), ("other", other)):
                    rate = drain(tree, bootstrap, payloads, Path(tmp))
                    runs[name].append(rate)
                    print(f"round {i + 1}: {name} {rate:,.0f} events/s", flush=True)
        finally:
            broker.stop()
    result: dict[str, Any] = {
        "events": n,
        "other_tree": str(other),
        "runs_events_per_s": runs,
        "median_events_per_s": {k: statistics.median(v) for k, v in runs.items()},
    }
    result["this_over_other"] = result["median_events_per_s"]["this"] / result["median_events_per_s"]["other"]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
