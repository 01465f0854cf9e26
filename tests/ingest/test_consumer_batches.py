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


def test_raw_batch_reads_records_and_names_a_dead_letter_by_its_offset() -> None:
    from datetime import UTC, datetime

    import orjson
    from aiokafka.structs import ConsumerRecord

    from streams.ingest.consumer import raw_batch
    from streams.ingest.normalize import Normalizer, RawItem
    from streams.settings import Settings
    from tests.conftest import event

    def rec(offset: int, value: bytes | None, ts: int) -> ConsumerRecord:  # type: ignore[type-arg]
        return ConsumerRecord("p.raw.web", 2, offset, ts, 0, None, value, None, 0, len(value or b""), ())

    good = orjson.dumps(event("page_view"))
    records = [rec(7, good, 1_772_452_800_123), rec(8, b"{not json", 0), rec(9, None, 1_772_452_801_000)]
    now_us = 1_772_452_900_000_000
    batch = raw_batch(records, now_us)
    assert batch.payloads == [good, b"{not json", b""]
    assert batch.arrived_us == [1_772_452_800_123_000, now_us, 1_772_452_801_000_000]
    assert batch[1] == RawItem(b"{not json", "p.raw.web/2/8", datetime(2026, 3, 2, 12, 1, 40, tzinfo=UTC))
    # The same records as RawItems normalize alike: rows, and dead letters named by their offsets.
    norm = Normalizer(Settings())
    out = norm.normalize(batch)
    ref = Normalizer(Settings()).normalize([batch[i] for i in range(len(batch))])
    [row] = [{k: v for k, v in r.items() if k != "ingested_at"} for r in out.rows]  # ingested_at: wall clock
    assert [row] == [{k: v for k, v in r.items() if k != "ingested_at"} for r in ref.rows]
    assert row["received_at"] == datetime(2026, 3, 2, 12, 0, 0, 123000, tzinfo=UTC)
    assert [(d.dl_id, d.reason) for d in out.dead] == [(d.dl_id, d.reason) for d in ref.dead]
    assert [d.dl_id for d in out.dead] == ["p.raw.web/2/8", "p.raw.web/2/9"]
