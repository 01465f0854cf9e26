"""Shared fixtures. The Kafka broker starts once per session (``deploy/kafka/kafka.sh``);
each integration module gets its own topic prefix and consumer group on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from streams.devstack import KafkaBroker
from streams.settings import Settings

# A throwaway pepper for the suite: workers and the publisher refuse to run without one (the
# suite's workers get it through ``devstack.worker_env``).
os.environ.setdefault("PARCOURS_PII_PEPPER", "parcours-tests-throwaway-pepper")

# Shared machines are noisy: no per-example deadline. In CI the examples are derandomized so a
# run is reproducible; locally they vary, to keep finding new inputs.
hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    bootstrap = broker.start()
    try:
        yield bootstrap
    finally:
        broker.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", topic_prefix=f"t{uuid.uuid4().hex[:8]}")


def event(etype: str = "page_view", **over: object) -> dict[str, object]:
    """A minimal valid event dict of the given type; ``over`` replaces top-level fields."""
    from tests.samples import SAMPLES

    base = dict(SAMPLES[etype])
    base["event_id"] = str(uuid.uuid4())
    base.update(over)
    return base
