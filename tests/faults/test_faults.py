"""Fault injection against the real broker: the worker is SIGKILLed at random moments (also
mid-batch), the broker restarts, ClickHouse refuses connections for a while. Afterwards the
store holds exactly the published valid set, every dead letter, and the same identity map
and journeys as a fault-free run of the same code.

Run alone with ``pytest -m faults``."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.attribution.batch import run_batch
from streams.attribution.offline import run_offline
from streams.devstack import KafkaBroker, StoreServer, Worker, wait_consumed, worker_env
from streams.settings import Settings
from streams.sim_publish import publish_simulation
from streams.simulate import SimConfig, Simulation, simulate
from streams.store.http import HttpBackend
from streams.topics import TopicNames

pytestmark = [pytest.mark.faults, pytest.mark.integration]
END = datetime(2026, 3, 8, tzinfo=UTC)
START, STOP = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)


def health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


class Chaos:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.broker = KafkaBroker(root / "kafka")
        self.store = StoreServer(root / "store", root / "store.log")
        self.faults: list[str] = []
        self.outage_seen = False

    def start(self) -> None:
        bootstrap = self.broker.start()
        self.store.start()
        prefix = f"f{uuid.uuid4().hex[:6]}"
        self.env = worker_env(
            bootstrap=bootstrap,
            data_dir=self.root / "w",
            app_id=f"{prefix}-group",
            PARCOURS_TOPIC_PREFIX=prefix,
            PARCOURS_CLICKHOUSE_URL=self.store.url,
            PARCOURS_KAFKA_SESSION_TIMEOUT_S="6",
            PARCOURS_BATCH_SIZE="500",
        )
        self.settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix, app_id=f"{prefix}-group")
        self.worker = Worker(self.env, self.root / "worker.log")
        self.worker.start()

    def kill_worker(self, rng: random.Random) -> None:
        time.sleep(rng.uniform(0.5, 2.5))
        self.worker.kill()
        self.faults.append("worker SIGKILL")
        self.worker = Worker(self.env, self.root / "worker.log")
        self.worker.start()

    def restart_broker(self) -> None:
        self.broker.restart()
        self.faults.append("broker restart")

    def store_outage(self, seconds: float) -> None:
        self.store.stop()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if health(self.worker.port)[0] == 503:
                self.outage_seen = True
            time.sleep(0.3)
        self.store.start()
        # The worker counts outages; a busy loop may answer health late, the counter stays.
        deadline = time.monotonic() + 20
        while not self.outage_seen and time.monotonic() < deadline:
            status, body = health(self.worker.port)
            self.outage_seen = status == 503 or int(str(body.get("store_outages", 0))) >= 1
            time.sleep(0.5)
        self.faults.append(f"ClickHouse refused connections for {seconds:.0f} s")


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chaos, Simulation]]:
    c = Chaos(tmp_path_factory.mktemp("chaos"))
    sim = simulate(SimConfig(persons=1200, days=7, seed=23, end=END, invalid_share=0.02, duplicate_share=0.02))
    try:
        c.start()
        rng = random.Random(5)
        half = len(sim.emitted) // 2
        first = Simulation(sim.config, sim.truth, sim.emitted[:half])
        second = Simulation(sim.config, sim.truth, sim.emitted[half:])
        publisher = threading.Thread(target=publish_simulation, args=(first, c.settings))
        publisher.start()
        c.kill_worker(rng)
        c.kill_worker(rng)
        c.restart_broker()
        publisher.join(timeout=300)
        # the second half arrives while ClickHouse refuses connections
        publisher = threading.Thread(target=publish_simulation, args=(second, c.settings))
        publisher.start()
        c.store_outage(10)
        c.kill_worker(rng)
        publisher.join(timeout=300)
        names = TopicNames(prefix=c.settings.topic_prefix)
        c.kill_worker(rng)  # once more, while it catches up
        wait_consumed(
            c.broker.bootstrap,
            c.settings.app_id,
            [*names.all_raw, names.dead_letters, names.identity_links],
            timeout=600,
        )
        print(f"\nfaults survived: {len(c.faults)}: {', '.join(c.faults)}")
        yield c, sim
    finally:
        if hasattr(c, "worker"):
            c.worker.stop()
        c.store.stop()
        c.broker.stop()


@pytest.fixture(scope="module")
def stored(chaos: tuple[Chaos, Simulation]) -> Iterator[HttpBackend]:
    c, _ = chaos
    b = HttpBackend(c.store.url)
    yield b
    b.close()


def test_faults_happened(chaos: tuple[Chaos, Simulation]) -> None:
    c, _ = chaos
    assert sum("SIGKILL" in f for f in c.faults) >= 4 and "broker restart" in c.faults
    assert c.outage_seen, "the worker's health did not report the ClickHouse outage"


def test_exactly_the_valid_set_each_once(chaos: tuple[Chaos, Simulation], stored: HttpBackend) -> None:
    _, sim = chaos
    ids = [r["id"] for r in stored.query("SELECT toString(event_id) AS id FROM events_dedup")]
    assert len(ids) == len(set(ids))
    assert set(ids) == sim.valid_ids


def test_every_dead_letter_is_there(chaos: tuple[Chaos, Simulation], stored: HttpBackend) -> None:
    _, sim = chaos
    got = {(r["reason"], r["payload"]) for r in stored.query("SELECT reason, payload FROM dead_letters FINAL")}
    want = {(e.reason, e.value.decode()) for e in sim.emitted if not e.valid}
    assert got == want


def test_identity_and_journeys_match_a_fault_free_run(chaos: tuple[Chaos, Simulation], stored: HttpBackend) -> None:
    c, sim = chaos
    clean = run_offline(((e.value, e.timestamp_ms) for e in sim.emitted), Settings())
    stored_map = {
        r["identifier"]: r["person_id"] for r in stored.query("SELECT identifier, person_id FROM identity_current")
    }
    assert stored_map and all(clean.graph.person_of(i) == p for i, p in stored_map.items())
    run_batch(stored, c.settings, START, STOP)
    got = {
        r["id"]: tuple(r["path"])
        for r in stored.query("SELECT toString(conversion_id) AS id, path FROM journeys FINAL WHERE source = 'batch'")
    }
    want = {
        j.conversion.event_id: j.path
        for j in clean.journeys(timedelta(days=30), include_null=False)
        if j.conversion and START <= j.conversion.time < STOP
    }
    assert got == want
