"""The benches' re-issued events: prepared ahead and stamped as sent, or a month later; still
valid events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from bench.common import corpus, fresh_copy, live_frame, now_text
from streams.ingest.normalize import Normalizer, RawItem
from streams.settings import Settings


def test_a_frame_stamped_when_sent_is_the_event_again_with_a_fresh_id_occurring_then() -> None:
    payloads = corpus(200, persons=20)
    frames = [live_frame(p) for p in payloads]
    stamp = now_text()
    sent = [head + stamp + tail for _, head, tail, _ in frames]
    for original, (channel, _, _, event_id), value in zip(payloads, frames, sent, strict=True):
        before, after = orjson.loads(original), orjson.loads(value)
        assert after["event_id"] == event_id != before["event_id"]
        assert after["occurred_at"] == stamp.decode() and "sent_at" not in after
        assert channel == before["channel"]
        assert {k: v for k, v in after.items() if k not in ("event_id", "occurred_at")} == {
            k: v for k, v in before.items() if k not in ("event_id", "occurred_at", "sent_at")
        }
    out = Normalizer(Settings()).normalize([RawItem(v, f"t/0/{i}", datetime.now(UTC)) for i, v in enumerate(sent)])
    assert len(out) == len(sent) and not out.dead


def test_a_later_copy_is_the_event_again_with_a_fresh_id_stored_that_much_later() -> None:
    payloads = corpus(100, persons=10)
    later = [fresh_copy(p, days=31) for p in payloads]
    arrival = datetime.now(UTC)
    out = Normalizer(Settings()).normalize([RawItem(v, f"t/0/{i}", arrival) for i, v in enumerate(later)])
    assert len(out) == len(later) and not out.dead
    stored = {r["event_id"]: r["event_time"] for r in out.rows}
    for original, value in zip(payloads, later, strict=True):
        before, after = orjson.loads(original), orjson.loads(value)
        assert after["event_id"] != before["event_id"] and "sent_at" not in after
        occurred = datetime.fromisoformat(before["occurred_at"]) + timedelta(days=31)
        assert datetime.fromisoformat(after["occurred_at"]) == occurred
        # stored when it occurred (a month after the corpus), not corrected to its arrival
        assert stored[after["event_id"]] == occurred < arrival - timedelta(days=30)
        assert {k: v for k, v in after.items() if k not in ("event_id", "occurred_at")} == {
            k: v for k, v in before.items() if k not in ("event_id", "occurred_at", "sent_at")
        }
