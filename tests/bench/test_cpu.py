"""The drain's CPU accounting (bench/cpu.py) on this test process: a Python thread's work is
counted as Python, and the bounds follow from the figures."""

from __future__ import annotations

import os
import threading
import time

import pytest

from bench.cpu import CpuMeter, CpuSample, sample


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_python_thread_work_is_counted_as_python() -> None:
    before = sample(os.getpid(), None)
    t = threading.Thread(target=_spin, args=(0.3,))
    t.start()
    t.join()
    _spin(0.2)
    after = sample(os.getpid(), None)
    # the exited thread's CPU stays in the process total: it moves to "native", which is why the
    # worker's Python work runs on the loop and in a pool whose threads persist
    assert after.python_s - before.python_s >= 0.15
    assert (after.python_s + after.native_s) - (before.python_s + before.native_s) >= 0.45
    assert after.broker_s == before.broker_s == 0.0


def test_bounds_follow_from_cpu_per_event() -> None:
    meter = CpuMeter(os.getpid(), None)
    meter._first = (CpuSample(python_s=1.0, native_s=2.0, broker_s=3.0), 1_000)
    meter._last = (CpuSample(python_s=3.0, native_s=3.0, broker_s=4.0), 101_000)
    got = meter.per_event(cores=2)
    assert got["worker_python_us"] == pytest.approx(20.0)
    assert got["worker_native_us"] == pytest.approx(10.0)
    assert got["broker_us"] == pytest.approx(10.0)
    assert got["all_us"] == pytest.approx(40.0)
    assert got["interpreter_bound_events_per_s"] == pytest.approx(50_000)
    assert got["machine_bound_events_per_s"] == pytest.approx(50_000)


def test_per_event_needs_both_ends() -> None:
    with pytest.raises(RuntimeError):
        CpuMeter(os.getpid(), None).per_event(cores=2)
