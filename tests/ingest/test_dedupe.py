"""The dedupe window, native and Python: same verdicts, same eviction order."""

from __future__ import annotations

import random

import pytest

from streams import native
from streams.ingest.dedupe import DedupeWindow, Seen, pack

KINDS = [
    pytest.param(True, id="native", marks=pytest.mark.skipif(not native.AVAILABLE, reason="not built")),
    pytest.param(False, id="python"),
]


@pytest.mark.parametrize("is_native", KINDS)
def test_a_retry_is_a_duplicate_and_a_reused_id_a_conflict(is_native: bool) -> None:
    w = DedupeWindow(10, native=is_native)
    big = (1 << 127) + 5  # a 128-bit id survives the round trip
    assert w.check(big, 7) is Seen.NEW
    assert w.check(big, 7) is Seen.DUPLICATE
    assert w.check(big, 8) is Seen.CONFLICT
    assert len(w) == 1


@pytest.mark.parametrize("is_native", KINDS)
def test_the_oldest_id_leaves_first(is_native: bool) -> None:
    w = DedupeWindow(3, native=is_native)
    assert list(w.check_many(*pack([1, 2, 3, 4], [0, 0, 0, 0]))) == [0, 0, 0, 0]
    assert len(w) == 3
    assert w.check(1, 0) is Seen.NEW  # evicted by 4, so new again (and evicts 2)
    assert list(w.check_many(*pack([3, 4, 2], [0, 0, 0]))) == [1, 1, 0]


def test_both_windows_give_the_same_verdicts_on_a_random_stream() -> None:
    if not native.AVAILABLE:
        pytest.skip("not built")
    rng = random.Random(7)
    keys = [rng.randrange(300) for _ in range(5000)]
    digests = [rng.randrange(2) for _ in range(5000)]
    a, b = DedupeWindow(100, native=True), DedupeWindow(100, native=False)
    for i in range(0, 5000, 700):
        packed = pack(keys[i : i + 700], digests[i : i + 700])
        assert a.check_many(*packed) == b.check_many(*packed)
    assert len(a) == len(b) == 100


@pytest.mark.parametrize("is_native", KINDS)
def test_a_remembered_digest_replaces_the_one_seen(is_native: bool) -> None:
    w = DedupeWindow(4, native=is_native)
    assert w.check(7, 111) == Seen.NEW  # a forged copy, refused by the store
    w.remember(*pack([7, 8], [222, 333]))  # the stored event's digest
    assert (w.check(7, 222), w.check(7, 111), w.check(8, 333)) == (Seen.DUPLICATE, Seen.CONFLICT, Seen.DUPLICATE)
