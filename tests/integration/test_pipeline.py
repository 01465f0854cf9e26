"""End to end on the real broker and a real worker: exactly the valid set, each once;
every invalid event in the dead-letter table with the right reason."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from streams.ingest.publisher import Publisher
from streams.sim_publish import publish_simulation
from streams.simulate import SimConfig, simulate
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration
END = datetime(2026, 3, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def published(stack: Stack):  # type: ignore[no-untyped-def]
    sim = simulate(
        SimConfig(
            persons=800,
            days=7,
            seed=11,
            end=END,
            invalid_share=0.02,
            duplicate_share=0.02,
            pepper=stack.settings.pepper(),
        )
    )
    publish_simulation(sim, stack.settings)
    # A producer that retried a whole slice: exact duplicates, published again later.
    with Publisher(stack.settings) as pub:
        for e in sim.emitted[:500]:
            if e.valid:
                pub.publish(orjson.loads(e.value), timestamp_ms=e.timestamp_ms)
    stack.wait()
    return sim


def test_enough_mixed_events(published) -> None:  # type: ignore[no-untyped-def]
    assert len(published.emitted) >= 10_000
    assert {orjson.loads(e.value)["channel"] for e in published.emitted if e.valid} == {"web", "social", "tv", "store"}
    assert sum(not e.valid for e in published.emitted) >= 150


def test_stored_events_are_exactly_the_valid_set_each_once(stack: Stack, published) -> None:  # type: ignore[no-untyped-def]
    rows = stack.rows("SELECT toString(event_id) AS id FROM events_dedup")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "an event is counted twice"
    assert set(ids) == published.valid_ids
    [n] = stack.rows("SELECT count() AS n FROM events_dedup")
    assert n["n"] == len(published.valid_ids)


def test_every_invalid_event_is_a_dead_letter_with_its_reason(stack: Stack, published) -> None:  # type: ignore[no-untyped-def]
    rows = stack.rows("SELECT reason, payload FROM dead_letters FINAL")
    got = Counter((r["reason"], r["payload"]) for r in rows)
    want = Counter((e.reason, e.value.decode()) for e in published.emitted if not e.valid)
    assert got == want


def test_store_events_are_stitched_across_channels(stack: Stack, published) -> None:  # type: ignore[no-untyped-def]
    # persons whose path crosses at least two channel families exist after stitching
    [r] = stack.rows(
        "SELECT count() AS n FROM (SELECT person_id FROM events_stitched WHERE person_id != '' "
        "GROUP BY person_id HAVING uniqExact(channel) >= 3)"
    )
    assert r["n"] > 50


def test_live_credits_for_conversions(stack: Stack, published) -> None:  # type: ignore[no-untyped-def]
    # every conversion, linked or not: one no identifier links is credited "no linked touchpoint"
    [conv] = stack.rows("SELECT count() AS n FROM events_dedup WHERE is_conversion = 1")
    [cred] = stack.rows(
        "SELECT uniqExact(conversion_id) AS n, round(sum(credit)) AS total FROM attribution_credits "
        "FINAL WHERE source = 'live' AND model = 'linear'"
    )
    assert conv["n"] > 100
    assert cred["n"] == conv["n"] and cred["total"] == conv["n"]


def test_worker_reports_health(stack: Stack, published) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{stack.worker.port}/v1/health") as resp:
        health = orjson.loads(resp.read())
    assert health["store_ok"] is True
    assert health["counters"]["events_stored"] == len(published.valid_ids)


def _post(stack: Stack, path: str, body: dict[str, object]) -> dict[str, object]:
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{stack.worker.port}{path}",
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {stack.settings.admin_token.get_secret_value()}"},  # type: ignore[union-attr]
    )
    with urllib.request.urlopen(req, timeout=300) as resp:
        return dict(orjson.loads(resp.read()))


@pytest.fixture(scope="module")
def batch(stack: Stack, published):  # type: ignore[no-untyped-def]
    span = {"start": "2026-02-01T00:00:00+00:00", "end": "2026-03-09T00:00:00+00:00"}
    first = _post(stack, "/v1/attribution/run", span)
    second = _post(stack, "/v1/attribution/run", span)  # idempotent: same rows after a re-run
    return first, second


def test_batch_run_is_idempotent(stack: Stack, batch) -> None:  # type: ignore[no-untyped-def]
    first, second = batch
    assert first["conversions"] == second["conversions"] > 100
    [n] = stack.rows("SELECT count() AS n FROM attribution_credits FINAL WHERE source = 'batch'")
    assert n["n"] == second["credit_rows"]


def test_streaming_credits_equal_batch_credits_for_the_same_journeys(stack: Stack, batch) -> None:  # type: ignore[no-untyped-def]
    same = stack.rows(
        "SELECT toString(l.conversion_id) AS id FROM journeys AS l FINAL "
        "INNER JOIN (SELECT * FROM journeys FINAL WHERE source = 'batch') AS b ON b.conversion_id = l.conversion_id "
        "WHERE l.source = 'live' AND l.path = b.path AND l.path_times = b.path_times"
    )
    [total] = stack.rows("SELECT count() AS n FROM journeys FINAL WHERE source = 'live'")
    assert len(same) > 0.8 * total["n"]  # the rest changed because of merges that arrived later
    diff = stack.rows(
        "SELECT l.model AS model, toString(l.conversion_id) AS id, l.channel AS channel, "
        "l.credit AS lc, b.credit AS bc "
        "FROM (SELECT * FROM attribution_credits FINAL WHERE source = 'live') AS l "
        "LEFT JOIN (SELECT * FROM attribution_credits FINAL WHERE source = 'batch') AS b "
        "ON b.model = l.model AND b.conversion_id = l.conversion_id AND b.channel = l.channel "
        "WHERE toString(l.conversion_id) IN {ids:Array(String)} AND abs(l.credit - b.credit) > 1e-9",
        ids=[r["id"] for r in same],
    )
    assert diff == []


def test_batch_credits_are_conserved_per_model(stack: Stack, batch) -> None:  # type: ignore[no-untyped-def]
    rows = stack.rows(
        "SELECT model, round(sum(credit), 6) AS total, uniqExact(conversion_id) AS conv "
        "FROM attribution_credits FINAL WHERE source = 'batch' GROUP BY model"
    )
    for r in rows:
        if r["model"] == "participation":
            assert r["total"] >= r["conv"]
        else:
            assert r["total"] == pytest.approx(r["conv"]), r["model"]
