from __future__ import annotations

import orjson
from pydantic import SecretStr

from streams.ingest.collector import Collector, RateLimiter
from streams.settings import Settings
from tests.conftest import event


def make(**kw: object) -> Collector:
    return Collector(Settings(write_keys={"web": SecretStr("k-web-123")}, collector_max_body=4096, **kw))


def body(*events: object) -> bytes:
    return orjson.dumps({"batch": list(events)})


def test_missing_or_wrong_key_is_401_and_never_echoed() -> None:
    c = make()
    assert c.collect(None, None, body(event("like"))).status == 401
    r = c.collect("Bearer s3cret-guess", None, body(event("like")))
    assert r.status == 401 and "s3cret-guess" not in orjson.dumps(r.body).decode()


def test_malformed_bodies_are_400() -> None:
    c = make()
    assert c.collect("Bearer k-web-123", None, b"{nope").status == 400
    assert c.collect("Bearer k-web-123", None, b'{"batch": 3}').status == 400


def test_oversized_body_is_413_before_parsing() -> None:
    c = make()
    assert c.collect("Bearer k-web-123", 10_000, b"").status == 413
    assert c.collect("Bearer k-web-123", None, b" " * 5000).status == 413


def test_mixed_batch_answers_per_event_and_dead_letters_the_rejected() -> None:
    c = make()
    good = event("like")
    bad = event("order_completed", properties={"order_id": "o", "revenue": -1, "currency": "EUR"})
    r = c.collect("Bearer k-web-123", None, body(good, bad, "not an object"))
    assert r.status == 200
    assert [a["accepted"] for a in r.body["results"]] == [True, False, False]
    assert r.body["results"][1]["reason"] == "schema_violation"
    assert "properties.revenue" in r.body["results"][1]["detail"]
    assert [d.reason for d in r.dead] == ["schema_violation", "not_an_object"]
    assert r.accepted[0].channel == "social"
    assert r.accepted[0].received_at > 1.7e9  # arrival time rides as the Kafka timestamp
    assert orjson.loads(r.accepted[0].value) == good  # the body as sent: a retry is recognisable


def test_clear_email_is_hashed_before_it_leaves_the_collector() -> None:
    c = make()
    ev = event("login", identities={"anonymous_id": "ck-1", "email": "Ana@Example.org"})
    r = c.collect("Bearer k-web-123", None, body(ev))
    value = r.accepted[0].value.decode()
    assert "Ana@Example.org".lower() not in value.lower()
    assert orjson.loads(value)["identities"]["email_hash"]


def test_rate_limit_per_key() -> None:
    rl = RateLimiter(rate=3)
    assert [rl.allow("a") for _ in range(4)] == [True, True, True, False]
    assert rl.allow("b")
