"""Hostile input on the real broker and worker: random bytes, wrong encodings, deep nesting,
huge strings and arrays, far timestamps, duplicate ids with different bodies — and injection
attempts through every entry that reaches SQL."""

from __future__ import annotations

import random
import urllib.error
import urllib.request
import uuid
from typing import Any

import orjson
import pytest

from streams.identity.explain import explain
from streams.ingest.publisher import Publisher
from tests.integration.conftest import Stack
from tests.samples import SAMPLES

pytestmark = pytest.mark.integration
HOSTILE = "x'); DROP TABLE events; --"


def corpus(rng: random.Random) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for _ in range(150):
        out.append(("web", rng.randbytes(rng.randrange(0, 400))))
    like = {**SAMPLES["like"], "event_id": str(uuid.uuid4())}
    out += [
        ("social", b'{"type": "like", "p": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("social", orjson.dumps({**like, "event_id": str(uuid.uuid4()), "note": "déjà"}).decode().encode("utf-16")),
        (
            "social",
            orjson.dumps(
                {**like, "event_id": str(uuid.uuid4()), "properties": {"post_id": "x" * 200_000, "network": "x"}}
            ),
        ),
        (
            "store",
            orjson.dumps(
                {
                    **SAMPLES["pos_purchase"],
                    "event_id": str(uuid.uuid4()),
                    "properties": {**SAMPLES["pos_purchase"]["properties"], "skus": ["s"] * 20_000},
                }
            ),
        ),
        (
            "web",
            orjson.dumps({**SAMPLES["search"], "event_id": str(uuid.uuid4()), "occurred_at": "9999-01-01T00:00:00Z"}),
        ),
        (
            "web",
            orjson.dumps({**SAMPLES["search"], "event_id": str(uuid.uuid4()), "occurred_at": "1900-01-01T00:00:00Z"}),
        ),
        ("social", orjson.dumps(like)),
        ("social", orjson.dumps({**like, "properties": {"post_id": "other", "network": "facebook"}})),
        ("web", orjson.dumps({**SAMPLES["search"], "event_id": str(uuid.uuid4()), "properties": {"query": HOSTILE}})),
    ]
    return out


@pytest.fixture(scope="module")
def hostile(stack: Stack) -> list[tuple[str, bytes]]:
    items = corpus(random.Random(99))
    with Publisher(stack.settings) as pub:
        for channel, payload in items:
            pub.publish_raw(channel, payload)
    stack.wait()
    return items


def test_every_hostile_input_is_a_row_or_a_typed_dead_letter(stack: Stack, hostile: list[tuple[str, bytes]]) -> None:
    [ev] = stack.rows("SELECT count() AS n FROM events_dedup")
    [dl] = stack.rows("SELECT count() AS n FROM dead_letters FINAL")
    assert ev["n"] + dl["n"] == len(hostile)
    reasons = {r["reason"] for r in stack.rows("SELECT DISTINCT reason FROM dead_letters FINAL")}
    assert {"unparseable", "too_large", "implausible_time", "conflicting_duplicate"} <= reasons
    [q] = stack.rows("SELECT JSONExtractString(properties, 'query') AS q FROM events_dedup WHERE type = 'search'")
    assert q["q"] == HOSTILE  # stored literally, as data
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.worker.port}/v1/health") as resp:
        assert orjson.loads(resp.read())["store_ok"] is True  # still running


def _post(stack: Stack, path: str, body: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(
        f"http://127.0.0.1:{stack.worker.port}{path}", data=orjson.dumps(body), headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read())


def test_injection_through_the_api_and_cli(stack: Stack, hostile: list[tuple[str, bytes]]) -> None:
    token = stack.settings.admin_token.get_secret_value()  # type: ignore[union-attr]
    before = stack.rows("SELECT count() AS n FROM events_dedup")
    # API parameters
    status, _ = _post(
        stack,
        "/v1/attribution/run",
        {"start": "2026-01-01'; DROP TABLE events; --", "end": "2026-02-01T00:00:00+00:00"},
        token,
    )
    assert status == 400
    # the read endpoint is read-only even with the token
    for sql in ("INSERT INTO spend (channel) VALUES ('x')", "DROP TABLE events", "ALTER TABLE events DELETE WHERE 1"):
        assert _post(stack, "/v1/sql", {"sql": sql}, token)[0] == 400
    assert _post(stack, "/v1/sql", {"sql": "SELECT 1"}, None)[0] == 401
    # parameters stay data
    status, out = _post(stack, "/v1/sql", {"sql": "SELECT {v:String} AS v", "params": {"v": HOSTILE}}, token)
    assert status == 200 and out["rows"] == [{"v": HOSTILE}]
    # CLI argument of `parcours person`
    with pytest.raises(Exception, match="not found"):
        explain(stack.reader, HOSTILE)
    with pytest.raises(Exception, match="not found"):
        explain(stack.reader, "crm:" + HOSTILE)  # bound as data: looked up, not run
    assert stack.rows("SELECT count() AS n FROM events_dedup") == before
