"""The ingest consumer's batching policy (the Kafka path itself runs in tests/integration)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, NamedTuple

from aiokafka import TopicPartition

from streams.ingest.consumer import take_batch


class Rec(NamedTuple):
    offset: int


class Scripted:
    """Answers getmany from a script; an exhausted script waits out the timeout, as Kafka does."""

    def __init__(self, script: list[dict[TopicPartition, list[Rec]]]) -> None:
        self.script = script
        self.calls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Rec]]:
        self.calls.append((timeout_ms, max_records))
        if self.script:
            return self.script.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}


A, B = TopicPartition("raw.web", 0), TopicPartition("raw.web", 1)


def take(consumer: Any, max_records: int, within_s: float) -> tuple[list[Any], dict[TopicPartition, int]]:
    return asyncio.run(take_batch(consumer, max_records, within_s))


def test_a_backlog_fills_the_batch_at_once_and_commits_past_the_last_record() -> None:
    c = Scripted([{A: [Rec(i) for i in range(5)], B: [Rec(i) for i in range(10, 15)]}])
    records, offsets = take(c, 10, 5.0)
    assert len(records) == 10 and offsets == {A: 5, B: 15}
    assert c.calls == [(1000, 10)]  # full: no waiting for more


def test_later_fetches_ask_only_for_what_is_missing() -> None:
    c = Scripted([{A: [Rec(0), Rec(1)]}, {A: [Rec(2)]}, {B: [Rec(7)] * 7}])
    records, offsets = take(c, 10, 5.0)
    assert len(records) == 10 and offsets == {A: 3, B: 8}
    assert [m for _, m in c.calls] == [10, 8, 7]


def test_a_trickle_is_flushed_within_the_window_after_its_first_record() -> None:
    c = Scripted([{A: [Rec(41)]}])
    t0 = time.monotonic()
    records, offsets = take(c, 1000, 0.3)
    waited = time.monotonic() - t0
    assert [r.offset for r in records] == [41] and offsets == {A: 42}
    assert 0.25 <= waited < 1.0


def test_an_idle_topic_returns_an_empty_batch_after_one_poll() -> None:
    c = Scripted([{}])
    assert take(c, 1000, 0.3) == ([], {})
    assert len(c.calls) == 1
