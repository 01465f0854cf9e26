"""The HTTP collector on a real worker: auth, malformed, oversized, a mixed batch end to end."""

from __future__ import annotations

import urllib.error
import urllib.request

import orjson
import pytest

from tests.conftest import event
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def post(stack: Stack, body: bytes, key: str | None = "k-web-123") -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(f"http://127.0.0.1:{stack.worker.port}/v1/collect", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read())


def test_unauthenticated_and_wrong_key(stack: Stack) -> None:
    body = orjson.dumps({"batch": [event("like")]})
    assert post(stack, body, key=None)[0] == 401
    status, answer = post(stack, body, key="guess-123")
    assert status == 401 and "guess-123" not in orjson.dumps(answer).decode()


def test_malformed_body(stack: Stack) -> None:
    status, answer = post(stack, b"{this is not json")
    assert status == 400 and answer["error"] == "malformed"


def test_oversized_body(stack: Stack) -> None:
    big = orjson.dumps({"batch": [event("search", properties={"query": "x" * 4000}) for _ in range(20)]})
    assert len(big) > 50_000
    status, answer = post(stack, big)
    assert status == 413 and answer["error"] == "too_large"
    # the worker is still serving
    assert post(stack, orjson.dumps({"batch": [event("like")]}))[0] == 200


def test_mixed_batch_is_answered_per_event_and_lands(stack: Stack) -> None:
    good = [event("like"), event("pos_purchase"), event("qr_scan")]
    bad = event("add_to_cart", properties={"sku": "s", "quantity": -3})
    status, answer = post(stack, orjson.dumps({"batch": [good[0], bad, good[1], good[2]]}), key="k-store-456")
    assert status == 200
    assert [r["accepted"] for r in answer["results"]] == [True, False, True, True]  # type: ignore[index]
    stack.wait()
    ids = [g["event_id"] for g in good]
    rows = stack.rows("SELECT toString(event_id) AS id FROM events_dedup WHERE event_id IN {ids:Array(UUID)}", ids=ids)
    assert {r["id"] for r in rows} == set(ids)
    dead = stack.rows("SELECT reason, source FROM dead_letters FINAL WHERE event_id = {id:String}", id=bad["event_id"])
    assert dead == [{"reason": "schema_violation", "source": "collector:store-paris"}]
