"""Two Faust workers in one consumer group give the same identity map and journeys as one.

chDB has one owning process, so each configuration gets a store server (``parcours store
serve``) that its workers share over ClickHouse's HTTP interface — as several workers share a
ClickHouse server in production."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.devstack import StoreServer, start_group, wait_consumed, worker_env
from streams.settings import Settings
from streams.sim_publish import publish_simulation
from streams.simulate import SimConfig, simulate
from streams.store.http import HttpBackend
from streams.topics import TopicNames

pytestmark = pytest.mark.integration
END = datetime(2026, 3, 8, tzinfo=UTC)


def run_configuration(kafka: str, root: Path, workers: int, sim: Any) -> HttpBackend:
    root.mkdir(parents=True)
    store = StoreServer(root / "store", root / "store.log")
    store.start()
    prefix = f"mw{uuid.uuid4().hex[:8]}"
    env = worker_env(
        bootstrap=kafka,
        data_dir=root / "w",
        app_id=f"{prefix}-group",
        PARCOURS_TOPIC_PREFIX=prefix,
        PARCOURS_CLICKHOUSE_URL=store.url,
    )
    procs = start_group(env, workers, root)
    owned = [p for w in procs for p in w.health()["ingest_partitions"]]
    assert sorted(owned) == sorted(set(owned)) and len(owned) == 16  # 4 raw topics × 4 partitions
    settings = Settings(kafka_bootstrap=kafka, topic_prefix=prefix)
    publish_simulation(sim, settings)
    names = TopicNames(prefix=prefix)
    wait_consumed(kafka, f"{prefix}-group", [*names.all_raw, names.dead_letters, names.identity_links])
    backend = HttpBackend(store.url)
    from streams.attribution.batch import run_batch

    run_batch(backend, settings, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
    for w in procs:
        STORED.setdefault(workers, []).append(w.health()["counters"].get("events_stored", 0))
        w.stop()
    run_configuration.cleanup.append(store)  # type: ignore[attr-defined]
    return backend


run_configuration.cleanup = []  # type: ignore[attr-defined]
STORED: dict[int, list[int]] = {}


@pytest.fixture(scope="module")
def outputs(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpBackend, HttpBackend]]:
    sim = simulate(SimConfig(persons=600, days=7, seed=17, end=END))
    root = tmp_path_factory.mktemp("multi")
    try:
        one = run_configuration(kafka, root / "one", 1, sim)
        two = run_configuration(kafka, root / "two", 2, sim)
        yield one, two
    finally:
        for s in run_configuration.cleanup:  # type: ignore[attr-defined]
            s.stop()
        for b in (locals().get("one"), locals().get("two")):
            if b is not None:
                b.close()


def test_both_workers_did_work(outputs: tuple[HttpBackend, HttpBackend]) -> None:
    _, two = outputs
    [n] = two.query("SELECT count() AS n FROM events_dedup")
    assert n["n"] > 5000
    # the raw partitions were split between the two workers: both stored events
    assert len(STORED[2]) == 2 and min(STORED[2]) > 0, STORED
    assert sum(STORED[2]) >= n["n"]


def test_same_identity_map(outputs: tuple[HttpBackend, HttpBackend]) -> None:
    one, two = outputs
    q = "SELECT identifier, person_id FROM identity_current ORDER BY identifier"
    a, b = one.query(q), two.query(q)
    assert len(a) > 1000 and a == b


def test_same_events_and_journeys(outputs: tuple[HttpBackend, HttpBackend]) -> None:
    one, two = outputs
    ev = "SELECT toString(event_id) AS id FROM events_dedup ORDER BY id"
    assert one.query(ev) == two.query(ev)
    q = (
        "SELECT toString(conversion_id) AS id, person_id, path, path_times, revenue FROM journeys FINAL "
        "WHERE source = 'batch' ORDER BY id"
    )
    a, b = one.query(q), two.query(q)
    assert len(a) > 100 and a == b
    dl = "SELECT reason, payload FROM dead_letters FINAL ORDER BY reason, payload"
    assert one.query(dl) == two.query(dl)
