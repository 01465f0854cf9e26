"""Two Faust workers in one consumer group give the same identity map and journeys as one; so
do two workers that split the stages (ingest and dead letters in one, identity in the other).

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


def run_configuration(kafka: str, root: Path, workers: int, sim: Any, stages: tuple[str, ...] = ()) -> HttpBackend:
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
    procs = start_group(env, workers, root, stages=stages)
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
        health = w.health()
        COUNTERS.setdefault(stages or workers, []).append((health["stages"], health["counters"]))
        w.stop()
    run_configuration.cleanup.append(store)  # type: ignore[attr-defined]
    return backend


run_configuration.cleanup = []  # type: ignore[attr-defined]
COUNTERS: dict[Any, list[tuple[list[str], dict[str, int]]]] = {}  # stages and counters per worker
SPLIT = ("ingest,dead_letters", "identity")

Outputs = tuple[HttpBackend, HttpBackend, HttpBackend]


@pytest.fixture(scope="module")
def outputs(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outputs]:
    sim = simulate(SimConfig(persons=600, days=7, seed=17, end=END))
    root = tmp_path_factory.mktemp("multi")
    stores: list[HttpBackend] = []
    try:
        stores.append(run_configuration(kafka, root / "one", 1, sim))
        stores.append(run_configuration(kafka, root / "two", 2, sim))
        stores.append(run_configuration(kafka, root / "split", 2, sim, SPLIT))
        yield stores[0], stores[1], stores[2]
    finally:
        for s in run_configuration.cleanup:  # type: ignore[attr-defined]
            s.stop()
        for b in stores:
            b.close()


def test_both_workers_did_work(outputs: Outputs) -> None:
    _, two, _ = outputs
    [n] = two.query("SELECT count() AS n FROM events_dedup")
    assert n["n"] > 5000
    # the raw partitions were split between the two workers: both stored events
    stored = [c.get("events_stored", 0) for _, c in COUNTERS[2]]
    assert len(stored) == 2 and min(stored) > 0, stored
    assert sum(stored) >= n["n"]


def test_split_stages_ran_where_they_were_asked(outputs: Outputs) -> None:
    (ingest_stages, ingest), (identity_stages, identity) = COUNTERS[SPLIT]
    assert (ingest_stages, identity_stages) == (["ingest", "dead_letters"], ["identity"])
    assert ingest.get("events_stored", 0) > 5000 and ingest.get("identity_links", 0) == 0
    assert identity.get("identity_links", 0) > 1000 and identity.get("events_stored", 0) == 0


def test_same_identity_map(outputs: Outputs) -> None:
    one, two, split = outputs
    q = "SELECT identifier, person_id FROM identity_current ORDER BY identifier"
    a, b, c = one.query(q), two.query(q), split.query(q)
    assert len(a) > 1000 and a == b == c


def test_same_events_and_journeys(outputs: Outputs) -> None:
    one, two, split = outputs
    ev = "SELECT toString(event_id) AS id FROM events_dedup ORDER BY id"
    assert one.query(ev) == two.query(ev) == split.query(ev)
    q = (
        "SELECT toString(conversion_id) AS id, person_id, path, path_times, revenue FROM journeys FINAL "
        "WHERE source = 'batch' ORDER BY id"
    )
    a, b, c = one.query(q), two.query(q), split.query(q)
    assert len(a) > 100 and a == b == c
    dl = "SELECT reason, payload FROM dead_letters FINAL ORDER BY reason, payload"
    assert one.query(dl) == two.query(dl) == split.query(dl)
