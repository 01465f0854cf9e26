"""Privacy on the real pipeline: clear e-mails and phones never reach downstream topics or
ClickHouse; consent; erasure that leaves nothing and does not re-link later events."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from streams.identity.erasure import request_erasure
from streams.ingest.publisher import Publisher
from streams.topics import TopicNames
from tests.integration.conftest import Stack, start_stack

pytestmark = pytest.mark.integration
EMAIL, PHONE = "Ana.Privacy@Example.org", "+33 6 11 22 33 44"
CLEAR = (EMAIL.lower(), "ana.privacy", "11 22 33 44", "+33611223344")


def ev(etype: str, ids: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "occurred_at": "2026-03-02T10:00:00Z",
        "identities": ids,
        **kw,
    }


@pytest.fixture(scope="module")
def priv(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(kafka, tmp_path_factory.mktemp("privacy"), PARCOURS_WRITE_KEYS='{"web": "k-priv"}')
    try:
        yield stack
    finally:
        stack.worker.stop()


def dump_store(stack: Stack) -> str:
    tables = [
        r["name"]
        for r in stack.rows(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View%'"
        )
    ]
    return "\n".join(orjson.dumps(stack.rows(f"SELECT * FROM {t}"), default=str).decode() for t in tables).lower()


def dump_topics(stack: Stack, *topics: str) -> str:
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        *topics, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=3000
    )
    try:
        return "\n".join(m.value.decode("latin-1") for m in c).lower()
    finally:
        c.close()


def test_clear_pii_never_reaches_downstream_topics_or_clickhouse(priv: Stack) -> None:
    with Publisher(priv.settings) as pub:
        pub.publish(ev("login", {"anonymous_id": "ck-priv-1", "user_id": "crm-priv", "email": EMAIL, "phone": PHONE}))
        # a producer that skipped our edge, writing clear values to the raw topic itself
        pub.publish_raw("web", orjson.dumps(ev("signup", {"user_id": "crm-priv", "email": EMAIL})))
        # an invalid event carrying a clear e-mail in free text: a dead letter, scrubbed
        pub.publish_raw("social", orjson.dumps(ev("comment", {"email": EMAIL}, properties={"text": f"I am {EMAIL}"})))
        pub.publish_raw("web", b"not json but mail " + EMAIL.encode())
    body = orjson.dumps(
        {
            "batch": [
                ev("login", {"anonymous_id": "ck-priv-2", "email": EMAIL, "phone": PHONE}),
                ev("order_completed", {"email": EMAIL}, properties={"revenue": -1}),
            ]
        }
    )
    req = urllib.request.Request(
        f"http://127.0.0.1:{priv.worker.port}/v1/collect", data=body, headers={"Authorization": "Bearer k-priv"}
    )
    assert urllib.request.urlopen(req, timeout=30).status == 200
    priv.wait()
    names = TopicNames(prefix=priv.settings.topic_prefix)
    stored, downstream = dump_store(priv), dump_topics(priv, names.dead_letters, names.identity_links)
    [n] = priv.rows("SELECT count() AS n FROM dead_letters FINAL")
    assert n["n"] >= 3 and "email_sha256:" in stored
    for clear in CLEAR:
        assert clear not in stored, clear
        assert clear not in downstream, clear
    # the hashed e-mail still links the login's cookie and CRM id
    [m] = priv.rows(
        "SELECT uniqExact(person_id) AS n FROM identity_current WHERE identifier IN ('anon:ck-priv-1', 'crm:crm-priv')"
    )
    assert m["n"] == 1


def test_no_consent_is_not_stored_against_a_person(priv: Stack) -> None:
    e = ev("page_view", {"anonymous_id": "ck-noconsent"}, consent={"analytics": False})
    with Publisher(priv.settings) as pub:
        pub.publish(e)
    priv.wait()
    [row] = priv.rows(
        "SELECT primary_identifier, identifiers, anonymous_id, person_id FROM events_stitched "
        "WHERE event_id = {id:UUID}",
        id=e["event_id"],
    )
    assert row == {"primary_identifier": "", "identifiers": [], "anonymous_id": "", "person_id": ""}


def test_forget_leaves_nothing_and_later_events_are_not_relinked(priv: Stack) -> None:
    ids = {"anonymous_id": "ck-forget", "user_id": "crm-forget", "crm_verified": True}
    events = [
        ev("login", ids),
        ev("page_view", {"anonymous_id": "ck-forget"}, context={"utm_medium": "email"}),
        ev(
            "order_completed",
            {"user_id": "crm-forget"},
            properties={"order_id": "o-f", "revenue": 10.0, "currency": "EUR"},
        ),
    ]
    with Publisher(priv.settings) as pub:
        for e in events:
            pub.publish(e)
    priv.wait()
    [p] = priv.rows("SELECT person_id FROM identity_current WHERE identifier = 'crm:crm-forget'")
    assert (
        priv.rows("SELECT count() AS n FROM attribution_credits WHERE person_id = {p:String}", p=p["person_id"])[0]["n"]
        > 0
    )
    done = request_erasure(priv.settings, "anon:ck-forget", timeout=120)
    assert done["person_id"] == p["person_id"] and done["rows_deleted"] > 0
    for table, col in (("events", "anonymous_id"), ("events", "user_id")):
        assert priv.rows(f"SELECT count() AS n FROM {table} WHERE {col} IN ('ck-forget', 'crm-forget')")[0]["n"] == 0
    for sql in (
        "SELECT count() AS n FROM identity_map WHERE identifier LIKE '%forget%' OR person_id = {p:String}",
        "SELECT count() AS n FROM identity_links WHERE identifier_a LIKE '%forget%' OR identifier_b LIKE '%forget%'",
        "SELECT count() AS n FROM touches_by_identifier WHERE primary_identifier LIKE '%forget%'",
        "SELECT count() AS n FROM journeys WHERE person_id = {p:String}",
        "SELECT count() AS n FROM attribution_credits WHERE person_id = {p:String}",
    ):
        assert priv.rows(sql, p=p["person_id"])[0]["n"] == 0, sql
    assert "forget" not in dump_store(priv).replace("erasure", "")
    # later: the same cookie comes back, alone; it must not find the erased history
    later = ev("page_view", {"anonymous_id": "ck-forget"})
    with Publisher(priv.settings) as pub:
        pub.publish(later)
    priv.wait()
    rows = priv.rows(
        "SELECT toString(event_id) AS id FROM events_stitched WHERE person_id = "
        "(SELECT person_id FROM events_stitched WHERE event_id = {id:UUID})",
        id=later["event_id"],
    )
    assert [r["id"] for r in rows] == [later["event_id"]]
    assert (
        priv.rows("SELECT count() AS n FROM erasures FINAL WHERE erasure_id = {e:String}", e=done["erasure_id"])[0]["n"]
        == 1
    )
