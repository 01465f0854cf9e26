"""The README's publishing flow through the real broker: a file ``parcours simulate --out`` wrote
is published as it is by ``parcours publish``, and a file with a bad line exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import start_stack

pytestmark = pytest.mark.integration


def test_simulate_out_then_publish_stores_what_the_simulation_meant(kafka: str, tmp_path: Path) -> None:
    stack = start_stack(kafka, tmp_path)
    try:
        sim = tmp_path / "sim.jsonl"
        made = stack.cli("simulate", "--persons", "30", "--days", "2", "--out", str(sim))
        assert made.returncode == 0, made.stderr
        lines = [orjson.loads(x) for x in sim.read_bytes().splitlines() if x.strip()]
        sim.write_bytes(sim.read_bytes() + b"\n\n")  # blank lines are not events
        out = stack.cli("publish", str(sim))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().endswith(f"published {len(lines)}, refused 0")
        stack.wait()
        stored = stack.rows("SELECT count() AS n FROM events_dedup")[0]["n"]
        dead = stack.rows("SELECT count() AS n FROM dead_letters FINAL")[0]["n"]
        valid = sum(1 for x in lines if x["value"].startswith("{") and '"event_id"' in x["value"])
        assert 0 < int(stored) <= valid and int(dead) > 0  # the simulation's invalid share, kept

        events = tmp_path / "events.jsonl"
        good = {
            "event_id": "6f9619ff-8b86-4011-b42d-00c04fc964ff",
            "type": "page_view",
            "occurred_at": "2026-03-02T10:00:00Z",
            "identities": {"anonymous_id": "ck-cli-1"},
        }
        events.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps({**good, "type": "teleport"}) + b"\n")
        bad = stack.cli("publish", str(events))
        assert bad.returncode == 1
        assert "line 2:" in bad.stderr and "unknown_type" in bad.stderr and "Traceback" not in bad.stderr
        assert bad.stdout.strip().endswith("published 1, refused 1")
    finally:
        stack.worker.stop()


def test_simulate_exits_1_when_kafka_does_not_acknowledge_its_records(kafka: str, tmp_path: Path) -> None:
    """Topics whose records may not exceed 200 bytes: the broker refuses the simulation's events
    after the sends were queued; ``simulate`` must not report them as published."""
    from kafka.admin import KafkaAdminClient, NewTopic

    from streams.topics import TopicNames

    prefix = f"ack{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    try:
        small = {"max.message.bytes": "200"}
        admin.create_topics([NewTopic(t, 1, 1, topic_configs=small) for t in TopicNames(prefix=prefix).all_raw])
    finally:
        admin.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    env.update(
        PARCOURS_KAFKA_BOOTSTRAP=kafka,
        PARCOURS_TOPIC_PREFIX=prefix,
        PARCOURS_PII_PEPPER="a-test-pepper-of-thirty-two-bytes!",
        PARCOURS_DATA_DIR=str(tmp_path / "data"),
    )
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli", "simulate", "--persons", "5", "--days", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Kafka acknowledged" in out.stderr and "Traceback" not in out.stderr
    assert "published" not in out.stdout
