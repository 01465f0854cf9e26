"""The README's publishing flow through the real broker: a file ``parcours simulate --out`` wrote
is published as it is by ``parcours publish``, and a file with a bad line exits non-zero."""

from __future__ import annotations

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
