"""Where a drain's CPU goes, per event: the worker's Python threads, its ClickHouse (chDB) threads
and the broker, read from /proc. From them, the rates they allow on this machine.

Why this is measured: the worker's Python threads share one interpreter lock, so their CPU per
event bounds one worker's rate (1 s / that); and everything on the machine shares its cores, so
all three together bound any rate here (cores / the sum). The closing figures of the pipeline
suite are judged against both.

A Python thread's CPU also counts native work it does with the lock released: chDB runs part of
a query on the calling thread (~0.6 µs a row of an Arrow insert, measured with thread_time), so
the interpreter bound is a little lower than the lock alone would set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(path: Path) -> tuple[str, float]:
    """(thread or process name, user + system CPU seconds) from a /proc stat file."""
    text = path.read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return name, (int(fields[11]) + int(fields[12])) / _TICK


@dataclass(frozen=True, slots=True)
class CpuSample:
    python_s: float  # the worker's threads named as its main thread: CPython's (it names none)
    native_s: float  # the rest of the worker: chDB's threads and the decoder's second thread, including exited ones
    broker_s: float


def sample(worker_pid: int, broker_pid: int | None) -> CpuSample:
    proc = Path(f"/proc/{worker_pid}")
    main_name, total = _stat(proc / "stat")  # the process's figure includes exited threads
    python = 0.0
    for task in (proc / "task").iterdir():
        try:
            name, seconds = _stat(task / "stat")
        except (OSError, ValueError):
            continue  # the thread ended between listing and reading
        if name == main_name:
            python += seconds
    broker = _stat(Path(f"/proc/{broker_pid}/stat"))[1] if broker_pid else 0.0
    return CpuSample(python_s=python, native_s=max(0.0, total - python), broker_s=broker)


@dataclass(slots=True)
class CpuMeter:
    """CPU between ``start`` and ``stop``, divided by the events done in between."""

    worker_pid: int
    broker_pid: int | None
    _first: tuple[CpuSample, int] | None = field(default=None, init=False)
    _last: tuple[CpuSample, int] | None = field(default=None, init=False)

    def start(self, done: int) -> None:
        self._first = (sample(self.worker_pid, self.broker_pid), done)

    def stop(self, done: int) -> None:
        self._last = (sample(self.worker_pid, self.broker_pid), done)

    def per_event(self, cores: int) -> dict[str, float]:
        """µs of CPU an event, per consumer, and the rates they bound on ``cores`` cores."""
        if self._first is None or self._last is None:
            raise RuntimeError("CpuMeter.per_event before start and stop")
        (a, n0), (b, n1) = self._first, self._last
        events = max(1, n1 - n0)
        us = {
            "worker_python_us": (b.python_s - a.python_s) / events * 1e6,
            "worker_native_us": (b.native_s - a.native_s) / events * 1e6,
            "broker_us": (b.broker_s - a.broker_s) / events * 1e6,
        }
        total = sum(us.values())
        return {
            **us,
            "all_us": total,
            "events_measured": events,
            # one interpreter runs its Python threads one at a time
            "interpreter_bound_events_per_s": 1e6 / us["worker_python_us"] if us["worker_python_us"] else 0.0,
            "machine_bound_events_per_s": cores * 1e6 / total if total else 0.0,
        }


def broker_pid(state_dir: Path) -> int | None:
    """The broker's process, from the pid file deploy/kafka/kafka.sh writes."""
    try:
        return int((state_dir / "broker.pid").read_text().strip())
    except (OSError, ValueError):
        return None
