"""A chDB store filled with a simulated week through the worker's own stages (no Kafka)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from streams.attribution.batch import run_batch
from streams.backfill import backfill
from streams.settings import Settings
from streams.simulate import SimConfig, Simulation, simulate
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate
from streams.store.reference import load_community, load_spend

# PARCOURS_TRUTH_SCALE=demo: every panel against the truth on the demo's population, seed and week
# (3,000 persons, seed 42, the simulator's fixed week): what the docs report; the suite runs smaller.
DEMO_SCALE = os.environ.get("PARCOURS_TRUTH_SCALE") == "demo"
END = SimConfig().end_at() if DEMO_SCALE else datetime(2026, 3, 8, tzinfo=UTC)
START = END - timedelta(days=7)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbBackend]:
    """chDB allows one data path per process: this package's tests share one store."""
    backend = ChdbBackend(tmp_path_factory.mktemp("grafana") / "ch")
    migrate(backend)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(scope="package")
def empty(store: ChdbBackend) -> ChdbBackend:
    return store


@pytest.fixture(scope="package")
def sim() -> Simulation:
    """The simulated week behind ``filled``, with its truth (``tests.truth.model``)."""
    if DEMO_SCALE:
        return simulate(SimConfig(persons=3000, days=7, seed=42, end=END))
    return simulate(SimConfig(persons=800, days=7, seed=21, end=END))


@pytest.fixture(scope="package")
def filled(store: ChdbBackend, sim: Simulation) -> ChdbBackend:
    settings = Settings()
    backfill(store, settings, ((e.value, e.timestamp_ms) for e in sim.emitted), batch_size=5000)
    run_batch(store, settings, START, END)
    for name, load in (("community.example.json", load_community), ("spend.example.csv", load_spend)):
        load(store, (REPO / "dashboards" / name).read_bytes(), source=name)
    load_spend(store, sim.spend_csv(), source="the simulation's paid search")
    # an internal account that engages: shown apart, excluded from headlines
    staff = [
        orjson.dumps(
            {
                "event_id": str(uuid.UUID(int=i + 1)),
                "type": "like",
                "occurred_at": (START + timedelta(days=4, hours=10)).isoformat(),
                "identities": {"social": {"network": "instagram", "handle": "brand_staff_paris"}},
                "properties": {"post_id": "post-03-0", "network": "instagram"},
            }
        )
        for i in range(12)
    ]
    backfill(store, settings, ((p, int(END.timestamp() * 1000)) for p in staff))
    return store
