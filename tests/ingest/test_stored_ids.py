"""Copies of stored events after the dedupe window forgot them (a restart, a late replay): the same
content passes, other content under the same id is refused and the original kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest

from streams.backfill import backfill
from streams.ingest.stored_ids import StoredIds
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate
from tests.samples import SAMPLES

ARRIVAL_MS = 1_773_000_000_000  # 2026-03-08


@pytest.fixture
def ch(tmp_path: Path) -> Iterator[ChdbBackend]:
    backend = ChdbBackend(tmp_path / "ch")
    migrate(backend)
    try:
        yield backend
    finally:
        backend.close()


def order(**over: object) -> dict[str, object]:
    base = {**SAMPLES["order_completed"], "event_id": str(uuid.uuid4())}
    return {**base, "occurred_at": "2026-03-03T10:00:00Z", **over}


def test_the_filter_clickhouse_builds_is_the_one_python_builds(ch: ChdbBackend, settings: Settings) -> None:
    events = [orjson.dumps(order()) for _ in range(300)]
    backfill(ch, settings, [(e, ARRIVAL_MS) for e in events])
    stored = [str(r["id"]) for r in ch.query("SELECT toString(event_id) AS id FROM events")]
    loaded, built = StoredIds(bits=1 << 16), StoredIds(bits=1 << 16)
    assert loaded.load(ch) == 300
    built.add(stored)
    assert np.array_equal(loaded._words, built._words)
    assert loaded.maybe(stored).all()
    assert loaded.maybe([str(uuid.uuid4()) for _ in range(1000)]).sum() < 20


def test_after_a_restart_a_conflicting_copy_is_refused_and_a_retry_passes(ch: ChdbBackend, settings: Settings) -> None:
    """The issue's attack: after a restart, a third body for an order's event_id (revenue 9999,
    another cookie and CRM id) replaced the original and linked a new identifier."""
    original = order()
    backfill(ch, settings, [(orjson.dumps(original), ARRIVAL_MS)])
    forged = {
        **original,
        "identities": {"anonymous_id": "ck-forged", "user_id": "crm-forged"},
        "properties": {**original["properties"], "revenue": 9999.0},  # type: ignore[dict-item]
    }
    retry = orjson.dumps(dict(reversed(list({**original, "sent_at": "2026-03-03T10:00:01Z"}.items()))))
    # each backfill call is a fresh normalizer: an empty dedupe window, as after a restart
    stats = backfill(ch, settings, [(orjson.dumps(forged), ARRIVAL_MS + 1000)])
    assert (stats.events, stats.dead_letters) == (0, 1)
    [dead] = ch.query("SELECT reason, payload FROM dead_letters")
    assert dead["reason"] == "conflicting_duplicate" and b"9999" in dead["payload"].encode()
    [row] = ch.query(
        "SELECT revenue, anonymous_id FROM events_dedup WHERE event_id = {e:UUID}", {"e": original["event_id"]}
    )
    assert row["revenue"] == original["properties"]["revenue"]  # type: ignore[index]
    assert not ch.query("SELECT 1 FROM identity_map WHERE identifier IN ('anon:ck-forged', 'crm:crm-forged')")
    again = backfill(ch, settings, [(retry, ARRIVAL_MS + 2000)])
    # the same content sent again later: a duplicate, dropped (its skew-corrected time is another)
    assert (again.events, again.dead_letters, again.duplicates) == (0, 0, 1)
    assert ch.query("SELECT count() AS n FROM events")[0]["n"] == 1
    redelivered = backfill(ch, settings, [(orjson.dumps(original), ARRIVAL_MS)])
    # the same record again (a redelivery after a crash): stored again, changing nothing, links sent again
    assert (redelivered.events, redelivered.links) == (1, 1)
    assert ch.query("SELECT count() AS n FROM events_dedup")[0]["n"] == 1


def test_a_conversion_sent_again_hours_later_keeps_its_journey(ch: ChdbBackend, settings: Settings) -> None:
    """After a restart, the same order sent again an hour later (same bytes, so its skew-corrected
    time is an hour later) was stored as a second row and credited again from the later time: an
    empty path replaced the order's journey."""
    touch = {
        **SAMPLES["page_view"],
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-03-03T09:00:00Z",
        "sent_at": "2026-03-03T09:00:00Z",
        "identities": {"anonymous_id": "ck-again"},
    }
    sale = order(identities={"anonymous_id": "ck-again"}, sent_at="2026-03-03T10:00:00Z")
    first = ARRIVAL_MS - 5 * 86_400_000
    backfill(ch, settings, [(orjson.dumps(touch), first), (orjson.dumps(sale), first + 1000)])

    def journey() -> list[object]:
        [row] = ch.query("SELECT path FROM journeys FINAL WHERE conversion_id = {e:UUID}", {"e": sale["event_id"]})
        return list(row["path"])

    path = journey()
    assert path, "the order has a touch to credit"
    again = backfill(ch, settings, [(orjson.dumps(sale), first + 3_600_000)])
    assert (again.events, again.duplicates) == (0, 1)
    assert journey() == path
    assert ch.query("SELECT count() AS n FROM events WHERE event_id = {e:UUID}", {"e": sale["event_id"]})[0]["n"] == 1


@pytest.mark.parametrize("forged_first", [True, False], ids=["forged-then-retry", "retry-then-forged"])
def test_a_forged_copy_and_a_retry_in_one_batch_after_a_restart(
    ch: ChdbBackend, settings: Settings, forged_first: bool
) -> None:
    """Only the forged copy is refused: the retry is judged against the stored original, not
    against the forged copy the window saw first."""
    original = order()
    backfill(ch, settings, [(orjson.dumps(original), ARRIVAL_MS)])
    forged = orjson.dumps({**original, "properties": {**original["properties"], "revenue": 9999.0}})  # type: ignore[dict-item]
    retry = orjson.dumps({**original, "sent_at": "2026-03-03T10:00:01Z"})
    pair = [forged, retry] if forged_first else [retry, forged]
    backfill(ch, settings, [(p, ARRIVAL_MS + 1000 + i) for i, p in enumerate(pair)])
    dead = ch.query("SELECT reason, payload FROM dead_letters")
    assert [(d["reason"], "9999" in d["payload"]) for d in dead] == [("conflicting_duplicate", True)]
    [row] = ch.query("SELECT revenue FROM events_dedup WHERE event_id = {e:UUID}", {"e": original["event_id"]})
    assert row["revenue"] == original["properties"]["revenue"]  # type: ignore[index]


def test_the_content_digest_is_keyed() -> None:
    """A producer without the pepper cannot compute, so cannot craft, a stored event's digest."""
    from streams.ingest.fingerprint import content_digest

    payload = orjson.dumps(order())
    assert content_digest(payload, b"pepper-a") != content_digest(payload, b"pepper-b")
    assert content_digest(payload, b"pepper-a") == content_digest(payload, b"pepper-a")
