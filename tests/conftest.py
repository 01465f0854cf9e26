"""Shared fixtures. The Kafka broker starts once per session (``deploy/kafka/kafka.sh``);
each integration module gets its own topic prefix and consumer group on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.devstack import KafkaBroker
from streams.settings import Settings


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
