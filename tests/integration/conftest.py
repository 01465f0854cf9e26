"""A real worker process on the session's real broker, with its own topics and group."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streams.devstack import Worker, wait_consumed, worker_env
from streams.read import WorkerReader
from streams.settings import Settings
from streams.topics import TopicNames

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    bootstrap: str
    settings: Settings
    worker: Worker
    reader: WorkerReader

    def wait(self, timeout: float = 300) -> float:
        names = TopicNames(prefix=self.settings.topic_prefix)
        return wait_consumed(
            self.bootstrap,
            self.settings.app_id,
            [*names.all_raw, names.dead_letters, names.identity_links],
            timeout=timeout,
        )

    def rows(self, sql: str, **params: object) -> list[dict[str, object]]:
        return self.reader.query(sql, params)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``parcours <args>`` with this stack's settings."""
        return subprocess.run(
            [sys.executable, "-m", "streams.cli", *args],
            env=self.worker.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def start_stack(kafka: str, root: Path, *, prefix: str | None = None, app_id: str | None = None, **extra: str) -> Stack:
    """A worker on topics of its own, or on ``prefix``'s (another stack's) as group ``app_id``."""
    prefix = prefix or f"it{uuid.uuid4().hex[:8]}"
    env = worker_env(
        bootstrap=kafka,
        data_dir=root / "data",
        app_id=app_id or f"{prefix}-group",
        PARCOURS_TOPIC_PREFIX=prefix,
        **extra,
    )
    settings = Settings(
        kafka_bootstrap=kafka,
        data_dir=root / "data",
        app_id=env["PARCOURS_APP_ID"],
        topic_prefix=prefix,
        web_port=int(env["PARCOURS_WEB_PORT"]),
        admin_token=env["PARCOURS_ADMIN_TOKEN"],
    )
    worker = Worker(env, root / "worker.log")
    worker.start()
    return Stack(kafka, settings, worker, WorkerReader(settings))


@pytest.fixture(scope="module")
def stack(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    s = start_stack(
        kafka,
        root,
        PARCOURS_WRITE_KEYS='{"web": "k-web-123", "store-paris": "k-store-456"}',
        # the store's key also relays its social and TV check-ins (tests send mixed batches with it)
        PARCOURS_WRITE_KEY_CHANNELS='{"store-paris": ["store", "social", "tv"]}',
        PARCOURS_COLLECTOR_MAX_BODY="50000",
    )
    try:
        yield s
    finally:
        s.worker.stop()


def ev(etype: str, ids: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A raw event of ``etype`` with these identities, a fresh id and a fixed time."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "occurred_at": "2026-03-02T10:00:00Z",
        "identities": ids,
        **kw,
    }
