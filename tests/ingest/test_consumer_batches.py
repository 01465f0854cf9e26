"""The ingest consumer's batching policy (the Kafka path itself runs in tests/integration)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, NamedTuple

from aiokafka import TopicPartition

from streams.ingest.consumer import take_batch
from streams.ingest.fetch import RecordSet


class Rec(NamedTuple):  # what take_batch reads of aiokafka's ConsumerRecord
    offset: int
    value: bytes = b"{}"
    timestamp: int | None = 0


def sets_of(tp: TopicPartition, first: int, n: int) -> RecordSet:
    return RecordSet.of(tp, [Rec(first + i) for i in range(n)])


class Scripted:
    """Answers getmany from a script; an exhausted script waits out the timeout, as Kafka does."""

    def __init__(self, script: list[dict[TopicPartition, list[Any]]]) -> None:
        self.script = script
        self.calls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        self.calls.append((timeout_ms, max_records))
        if self.script:
            return self.script.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}


A, B = TopicPartition("raw.web", 0), TopicPartition("raw.web", 1)


def take(
    consumer: Any, max_records: int, within_s: float, *, whole_sets: bool = False
) -> tuple[list[RecordSet], dict[TopicPartition, int]]:
    return asyncio.run(take_batch(consumer, max_records, within_s, whole_sets=whole_sets))


def offsets_of(sets: list[RecordSet]) -> list[int]:
    return [o for s in sets for o in s.offsets.tolist()]


def test_a_backlog_fills_the_batch_at_once_and_commits_past_the_last_record() -> None:
    c = Scripted([{A: [Rec(i) for i in range(5)], B: [Rec(i) for i in range(10, 15)]}])
    sets, offsets = take(c, 10, 5.0)
    assert offsets_of(sets) == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14] and offsets == {A: 5, B: 15}
    assert c.calls == [(1000, 10)]  # full: no waiting for more


def test_later_fetches_ask_only_for_what_is_missing() -> None:
    c = Scripted([{A: [Rec(0), Rec(1)]}, {A: [Rec(2)]}, {B: [Rec(7)] * 7}])
    sets, offsets = take(c, 10, 5.0)
    assert len(offsets_of(sets)) == 10 and offsets == {A: 3, B: 8}
    assert [m for _, m in c.calls] == [10, 8, 7]


def test_whole_record_sets_are_asked_for_one_at_a_time_until_the_batch_is_full() -> None:
    c = Scripted([{A: [sets_of(A, 0, 4)]}, {B: [sets_of(B, 20, 4)]}, {A: [sets_of(A, 4, 4)]}, {B: [sets_of(B, 24, 9)]}])
    sets, offsets = take(c, 10, 5.0, whole_sets=True)
    # Past 10 by less than the last set: the fourth set is left for the next batch.
    assert offsets_of(sets) == [0, 1, 2, 3, 20, 21, 22, 23, 4, 5, 6, 7] and offsets == {A: 8, B: 24}
    assert [m for _, m in c.calls] == [1, 1, 1]


def test_a_trickle_is_flushed_within_the_window_after_its_first_record() -> None:
    c = Scripted([{A: [Rec(41)]}])
    t0 = time.monotonic()
    sets, offsets = take(c, 1000, 0.3)
    waited = time.monotonic() - t0
    assert offsets_of(sets) == [41] and offsets == {A: 42}
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
    other = RecordSet.of(TopicPartition("p.raw.store", 0), [rec(3, b"[]", -1)])
    now_us = 1_772_452_900_000_000
    batch = raw_batch([other, RecordSet.of(TopicPartition("p.raw.web", 2), records)], now_us)
    assert batch.payloads == [b"[]", good, b"{not json", b""]
    assert batch.arrived_us == [now_us, 1_772_452_800_123_000, now_us, 1_772_452_801_000_000]
    assert batch[0].source == "p.raw.store/0/3"
    # A section keeps the whole batch's sources.
    batch = batch.section(1, 4)
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


def test_record_sets_of_consumer_records_keep_values_times_and_offsets() -> None:
    from aiokafka.structs import ConsumerRecord

    records = [
        ConsumerRecord("t", 3, 10 + i, ts, 0, None, v, None, 0, 0, ())  # type: ignore[var-annotated]
        for i, (ts, v) in enumerate([(5, b"a"), (None, None)])
    ]
    s = RecordSet.of(TopicPartition("t", 3), records)
    assert (s.topic, s.partition, s.values, len(s)) == ("t", 3, [b"a", b""], 2)
    assert s.timestamps_ms.tolist() == [5, -1] and s.offsets.tolist() == [10, 11]
