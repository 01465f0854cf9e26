"""What every benchmark shares: the machine's description, medians, results on disk, and a
corpus of realistic events."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from streams.simulate import SimConfig, simulate
from streams.topics import CHANNELS

RESULTS = Path(__file__).parent / "results"
END = datetime(2026, 3, 8, tzinfo=UTC)


def machine() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for dist in (
        "faust-streaming",
        "aiokafka",
        "kafka-python",
        "chdb-core",
        "pydantic",
        "orjson",
        "numpy",
        "channelattribution",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kafka": "3.9.1",
        "platform": platform.platform(),
        "versions": versions,
        "at": datetime.now(UTC).isoformat(),
    }


def median_of(fn: Callable[[], float], runs: int = 3) -> tuple[float, list[float]]:
    values = [fn() for _ in range(runs)]
    return statistics.median(values), values


def write(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **result}, indent=2, default=str) + "\n")
    return path


def corpus(n: int, *, persons: int = 20_000, seed: int = 1) -> list[bytes]:
    """``n`` valid, distinct, realistic events from all four channels: a simulated population,
    repeated with fresh event ids when more are needed."""
    sim = simulate(SimConfig(persons=persons, days=7, seed=seed, end=END, invalid_share=0.0, duplicate_share=0.0))
    base = [e.value for e in sim.emitted]
    out: list[bytes] = []
    while len(out) < n:
        for v in base:
            if len(out) == n:
                break
            out.append(v if len(out) < len(base) else fresh_copy(v))
    return out


def fresh_copy(payload: bytes, *, days: int = 0) -> bytes:
    """The same event under a new event_id: more volume without duplicates. ``days``: the same
    person active again that much later, stored then.

    A corpus event's clocks are months behind ours, so ingest corrects it to its arrival by its
    send time (``streams.ingest.eventtime``); a copy with both clocks moved was corrected to its
    arrival too, whatever ``days`` (so the pipeline suite's "month later" millions once all landed
    in one lookback window: docs/performance.md). A later copy carries no send time: it is
    stored at its own ``occurred_at``, a late event, ``days`` after the corpus's."""
    d = orjson.loads(payload)
    d["event_id"] = str(uuid.uuid4())
    if days:
        d["occurred_at"] = (datetime.fromisoformat(d["occurred_at"]) + timedelta(days=days)).isoformat()
        d.pop("sent_at", None)
    return orjson.dumps(d)


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def live_frame(payload: bytes) -> tuple[str, bytes, bytes, str]:
    """A corpus event to re-issue later, prepared ahead so that sending it costs a concatenation:
    (channel, the bytes before and after its occurred_at value, its fresh event_id)."""
    d: dict[str, Any] = orjson.loads(payload)
    d["event_id"] = str(uuid.uuid4())
    d["occurred_at"] = _SLOT
    d.pop("sent_at", None)
    head, tail = orjson.dumps(d).split(_SLOT.encode())
    channel = d.get("channel")
    return channel if channel in CHANNELS else "web", head, tail, d["event_id"]


_SLOT = "@@occurred_at@@"  # in no corpus event


def now_text() -> bytes:
    """The current instant as events spell it (``occurred_at``), for ``live_frame``'s slot."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").encode()


def live_copy(payload: bytes) -> dict[str, Any]:
    """A corpus event re-issued now: fresh id, occurring at this instant (steady-rate benches)."""
    d: dict[str, Any] = orjson.loads(payload)
    d["event_id"] = str(uuid.uuid4())
    d["occurred_at"] = datetime.now(UTC).isoformat()
    d.pop("sent_at", None)
    return d
