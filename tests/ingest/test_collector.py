from __future__ import annotations

import orjson
import pytest
from pydantic import SecretStr, ValidationError

from streams.errors import ConfigError
from streams.ingest.collector import Collector, RateLimiter
from streams.settings import Settings
from tests.conftest import event


def make(**kw: object) -> Collector:
    kw.setdefault("collector_max_body", 4096)
    return Collector(Settings(write_keys={"web": SecretStr("k-web-123")}, **kw))  # type: ignore[arg-type]


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
    good = event("page_view")
    bad = event("order_completed", properties={"order_id": "o", "revenue": -1, "currency": "EUR"})
    r = c.collect("Bearer k-web-123", None, body(good, bad, "not an object"))
    assert r.status == 200
    assert [a["accepted"] for a in r.body["results"]] == [True, False, False]
    assert r.body["results"][1]["reason"] == "schema_violation"
    assert "properties.revenue" in r.body["results"][1]["detail"]
    assert [d.reason for d in r.dead] == ["schema_violation", "not_an_object"]
    assert r.accepted[0].channel == "web"
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


def test_a_write_key_sends_only_its_channel_families() -> None:
    c = Collector(
        Settings(
            write_keys={"web": SecretStr("kw"), "store-paris": SecretStr("ks"), "kiosk": SecretStr("kk")},
            write_key_channels={"kiosk": ("store", "web")},
        )
    )
    purchase, view = event("pos_purchase"), event("page_view")
    r = c.collect("Bearer kw", None, body(purchase, view))
    assert [a["accepted"] for a in r.body["results"]] == [False, True]
    assert r.body["results"][0]["reason"] == "channel_not_allowed"
    assert "'web' may send web events" in r.body["results"][0]["detail"]
    assert [d.reason for d in r.dead] == ["channel_not_allowed"]
    assert [a["accepted"] for a in c.collect("Bearer ks", None, body(purchase, view)).body["results"]] == [True, False]
    assert c.collect("Bearer kk", None, body(event("pos_purchase"), event("page_view"))).body["accepted"] == 2


def test_a_source_naming_no_channel_family_must_be_configured() -> None:
    with pytest.raises(ValidationError, match="PARCOURS_WRITE_KEY_CHANNELS"):
        Settings(write_keys={"kiosk": SecretStr("kk")})


def test_deep_nesting_is_that_events_dead_letter_and_the_rest_is_accepted() -> None:
    c = make(collector_max_body=1_000_000)
    deep1 = event("page_view", properties={"title": "t", "x": "ARRAYS"})
    deep2 = event("page_view", properties="OBJECTS")
    good = event("page_view")
    # written by hand: orjson writes 255 levels at most, the json module recurses
    raw = (
        orjson.dumps({"batch": [deep1, good, deep2]})
        .replace(b'"ARRAYS"', b"[" * 1000 + b"]" * 1000)
        .replace(b'"OBJECTS"', b'{"a":' * 900 + b"{}" + b"}" * 900)
    )
    r = c.collect("Bearer k-web-123", None, raw)
    assert r.status == 200
    assert [a["accepted"] for a in r.body["results"]] == [False, True, False]
    assert {d.reason for d in r.dead} == {"schema_violation"}
    # the dead letter keeps the event as sent, however deep
    assert r.dead[0].payload == orjson.dumps(deep1).replace(b'"ARRAYS"', b"[" * 1000 + b"]" * 1000)


def test_a_non_utf8_authorization_header_is_a_wrong_key() -> None:
    c = make()
    header = b"Bearer k-web-\xff\xfe".decode("utf-8", "surrogateescape")
    assert c.collect(header, None, body(event("page_view"))).status == 401


def test_the_answer_names_the_fields_it_did_not_keep() -> None:
    c = make()
    e = event("page_view", properties={"title": "t", "colour": "red"}, campaign="x")
    [a] = c.collect("Bearer k-web-123", None, body(e)).body["results"]
    assert a["accepted"] is True and sorted(a["dropped"]) == ["campaign", "properties.colour"]
    [b] = c.collect("Bearer k-web-123", None, body(event("page_view"))).body["results"]
    assert "dropped" not in b


def test_no_pepper_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="PARCOURS_PII_PEPPER"):
        Collector(Settings(write_keys={"web": SecretStr("k")}, pii_pepper=None))
