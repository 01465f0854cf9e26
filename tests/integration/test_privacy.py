"""Privacy on the real pipeline: clear e-mails and phones never reach downstream topics or
ClickHouse; consent; erasure that leaves nothing and does not re-link later events."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from streams.control import request_erasure
from streams.errors import InvalidEvent
from streams.identity.fresh import fresh_person
from streams.ingest.publisher import Publisher
from streams.topics import TopicNames
from tests.integration.conftest import Stack, ev, start_stack

pytestmark = pytest.mark.integration
EMAIL, PHONE = "Ana.Privacy@Example.org", "+33 6 11 22 33 44"
TOLERANCE_S = 3
CLEAR = (EMAIL.lower(), "ana.privacy", "11 22 33 44", "+33611223344")


@pytest.fixture(scope="module")
def priv(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(
        kafka,
        tmp_path_factory.mktemp("privacy"),
        PARCOURS_WRITE_KEYS='{"web": "k-priv"}',
        PARCOURS_FUTURE_STAMP_TOLERANCE_S=str(TOLERANCE_S),  # short, so that the test need not wait a minute
    )
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
    time.sleep(TOLERANCE_S)  # past the margin the erasure also covers
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


def test_a_replay_after_forget_stores_nothing_of_the_person(
    priv: Stack, kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Forget a person, then replay every topic from its beginning into a fresh store (a second
    worker, new data dir, new consumer group): the replay guard and the erasures topic keep the
    person out; an unrelated person replays whole; the cookie seen after the erasure is a new person."""
    erased_events = [
        ev("login", {"anonymous_id": "ck-replay", "user_id": "crm-replay", "crm_verified": True}),
        ev("page_view", {"anonymous_id": "ck-replay"}, context={"utm_medium": "email"}),
        ev(
            "order_completed",
            {"user_id": "crm-replay"},
            properties={"order_id": "o-replay", "revenue": 12.0, "currency": "EUR"},
        ),
    ]
    kept = [
        ev("login", {"anonymous_id": "ck-kept", "user_id": "crm-kept"}),
        ev("page_view", {"anonymous_id": "ck-kept"}),
    ]
    invalid = ev("order_completed", {"user_id": "crm-replay"}, properties={"revenue": -1})  # a dead letter
    # produced before the erasure but stamped after it: a replay must not take it for a later event
    stamped_ahead = ev("page_view", {"anonymous_id": "ck-replay"}, context={"utm_medium": "cpc"})
    from kafka.errors import KafkaError

    with Publisher(priv.settings) as pub:
        for e in [*erased_events, *kept]:
            pub.publish(e)
        pub.publish_raw("web", orjson.dumps(invalid))
        ahead_ms = int(time.time() * 1000) + (TOLERANCE_S - 1) * 1000
        pub.publish(stamped_ahead, timestamp_ms=ahead_ms).get(timeout=30)
        with pytest.raises(KafkaError):  # further ahead than the topics allow: the broker refuses it
            pub.publish(ev("page_view", {"anonymous_id": "ck-replay"}), timestamp_ms=ahead_ms + 86_400_000).get(30)
    erased_events.append(stamped_ahead)
    priv.wait()
    [dl] = priv.rows("SELECT count() AS n FROM dead_letters WHERE event_id = {e:String}", e=invalid["event_id"])
    assert dl["n"] == 1
    done = request_erasure(priv.settings, "crm:crm-replay", timeout=120)
    erased_pid = str(done["person_id"])
    # the dead letter went with the person (its payload names crm-replay)
    assert priv.rows("SELECT count() AS n FROM dead_letters WHERE payload LIKE '%replay%'")[0]["n"] == 0
    later = ev("page_view", {"anonymous_id": "ck-replay"})
    time.sleep(TOLERANCE_S)  # the erasure also covers records stamped up to the tolerance after it
    with Publisher(priv.settings) as pub:
        pub.publish(later)
    priv.wait()
    [first] = priv.rows("SELECT person_id FROM events_stitched WHERE event_id = {id:UUID}", id=later["event_id"])
    assert first["person_id"] == fresh_person(erased_pid, str(done["erasure_id"])) != erased_pid

    replay = start_stack(
        kafka,
        tmp_path_factory.mktemp("replay"),
        prefix=priv.settings.topic_prefix,
        app_id=f"replay-{uuid.uuid4().hex[:6]}",
        PARCOURS_FUTURE_STAMP_TOLERANCE_S=str(TOLERANCE_S),
    )
    try:
        replay.wait()
        stored = dump_store(replay)
        gone = ["crm-replay", "o-replay", invalid["event_id"], *(e["event_id"] for e in erased_events)]
        for value in gone:
            assert value.lower() not in stored, value
        # the cookie is stored once: on the event after the erasure, under a fresh person id
        rows = replay.rows(
            "SELECT toString(event_id) AS id, person_id FROM events_stitched WHERE has(identifiers, 'anon:ck-replay')"
        )
        assert [r["id"] for r in rows] == [later["event_id"]]
        assert rows[0]["person_id"] == first["person_id"] != erased_pid
        assert (
            replay.rows(
                "SELECT count() AS n FROM identity_links WHERE identifier_a LIKE '%replay%' "
                "OR identifier_b LIKE '%replay%'"
            )[0]["n"]
            == 0
        )
        # the unrelated person replays whole, still linked
        [k] = replay.rows(
            "SELECT count() AS n, uniqExact(person_id) AS p FROM events_stitched WHERE event_id IN {ids:Array(UUID)}",
            ids=[e["event_id"] for e in kept],
        )
        assert (k["n"], k["p"]) == (2, 1)
        # the fresh store holds the erasure record, restored from the erasures topic
        [r] = replay.rows(
            "SELECT person_id, identifier_hashes FROM erasures FINAL WHERE erasure_id = {e:String}",
            e=done["erasure_id"],
        )
        assert r["person_id"] == erased_pid and len(r["identifier_hashes"]) >= 2
        # dropped and counted: the 3 events, the dead letter (ingest's and the old topic copy), links
        with urllib.request.urlopen(f"http://127.0.0.1:{replay.worker.port}/v1/health", timeout=10) as resp:
            counters = orjson.loads(resp.read())["counters"]
        print(f"erasure: {done['rows_deleted']} rows deleted; replay: {counters}")
        assert counters["erased_dropped"] >= 5
    finally:
        replay.worker.stop()


def test_topics_with_identifiers_expire_and_erasures_are_compacted(priv: Stack) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    names = TopicNames(prefix=priv.settings.topic_prefix)
    admin = KafkaAdminClient(bootstrap_servers=priv.bootstrap)
    try:
        topics = [*names.with_identifiers, names.erasures]
        answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
        # {resource type: {topic: {key: {"value": ...}}}}
        configs = {
            t: {k: c["value"] for k, c in kv.items()} for by_type in answer.values() for t, kv in by_type.items()
        }
    finally:
        admin.close()
    week = str(7 * 86_400_000)
    for t in names.with_identifiers:
        assert configs[t]["retention.ms"] == week, t
        assert configs[t]["message.timestamp.after.max.ms"] == str(TOLERANCE_S * 1000), t
    assert configs[names.erasures]["cleanup.policy"] == "compact"
    assert configs[names.erasures]["retention.ms"] == "-1"


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=stack.worker.env, capture_output=True, text=True, timeout=180
    )


def test_forget_and_person_take_a_clear_email_say_not_found_and_dry_run(priv: Stack) -> None:
    with Publisher(priv.settings) as pub:
        pub.publish(ev("login", {"anonymous_id": "ck-june", "email": "June.Erase@Example.com"}))
        pub.publish(ev("page_view", {"anonymous_id": "ck-june"}))
    priv.wait()
    shown = _cli(priv, "person", "email:June.Erase@Example.com")
    assert shown.returncode == 0 and "anon:ck-june" in shown.stdout, shown.stderr
    dry = _cli(priv, "forget", "--dry-run", "email: june.erase@EXAMPLE.com")
    assert dry.returncode == 0, dry.stderr
    assert "anon:ck-june" in dry.stdout and "events: 2 rows" in dry.stdout and "dead_letters: 0 rows" in dry.stdout
    assert priv.rows("SELECT count() AS n FROM events WHERE anonymous_id = 'ck-june'")[0]["n"] == 2  # nothing erased
    done = _cli(priv, "forget", "email:June.Erase@Example.com")
    assert done.returncode == 0 and "erased person p" in done.stdout, done.stderr
    assert priv.rows("SELECT count() AS n FROM events WHERE anonymous_id = 'ck-june'")[0]["n"] == 0
    for args in (("person", "anon:ck-nobody"), ("forget", "email:nobody@example.org"), ("person", "p0000000000000000")):
        out = _cli(priv, *args)
        assert out.returncode != 0 and out.stderr.strip().endswith("not found"), (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1


# A hostile corpus: clear e-mails and phones as producers really send them.
HOSTILE_EMAILS = ("Jane.Doe@Example.com", "bob.hostile@example.org", "MiXed.Case@Example.NET", "num.phone@example.io")
HOSTILE_PHONES = ("+33 6 12 34 56 78", "06.12.34.56.79", "+44 7700 900123", "0612345680", "(555) 123-4567")


def _clear_forms() -> list[str]:
    digits = [re.sub(r"\D", "", p) for p in HOSTILE_PHONES]
    return [e.lower() for e in HOSTILE_EMAILS] + list(HOSTILE_PHONES) + [d[-8:] for d in digits] + ["33611223355"]


def test_the_edge_scrubs_every_clear_value_before_kafka(priv: Stack) -> None:
    names = TopicNames(prefix=priv.settings.topic_prefix)
    published = [
        ev(
            "comment",
            {"anonymous_id": "ck-h1"},
            properties={
                "post_id": "p",
                "comment_id": "c-h1",
                "network": "instagram",
                "text": f"call me {HOSTILE_PHONES[0]} or {HOSTILE_PHONES[1]}, mail {HOSTILE_EMAILS[0]}",
            },
        ),
        ev(
            "search",
            {"anonymous_id": "ck-h2", "Email": HOSTILE_EMAILS[2], "PHONE": HOSTILE_PHONES[2]},
            properties={"query": f"my number is {HOSTILE_PHONES[3]}"},
        ),
        ev("login", {"anonymous_id": "ck-h3", "phone": 33611223355}),
        ev("login", {"anonymous_id": "ck-h4", "email": ["num.phone@example.io"]}),  # not text: refused
    ]
    with Publisher(priv.settings) as pub:
        for e in published[:3]:
            pub.publish(e)
        with pytest.raises(InvalidEvent, match="not text"):
            pub.publish(published[3])
    # the collector, with a JSON-escaped "@" and a phone in a question
    question = ev(
        "question",
        {"anonymous_id": "ck-h5"},
        properties={
            "question_id": "q-h5",
            "network": "facebook",
            "text": f"reach me at {HOSTILE_PHONES[4]} or ESCAPED",
        },
    )
    body = orjson.dumps({"batch": [question]}).replace(b"ESCAPED", b"bob.hostile\\u0040example.org")
    req = urllib.request.Request(
        f"http://127.0.0.1:{priv.worker.port}/v1/collect", data=body, headers={"Authorization": "Bearer k-priv"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert orjson.loads(resp.read())["results"][0]["accepted"] is False  # a web key; the topic still matters
    req2 = urllib.request.Request(
        f"http://127.0.0.1:{priv.worker.port}/v1/collect",
        data=orjson.dumps(
            {"batch": [ev("search", {"anonymous_id": "ck-h6"}, properties={"query": "ESCAPED"})]}
        ).replace(b"ESCAPED", b"bob.hostile\\u0040example.org tel 06.12.34.56.79"),
        headers={"Authorization": "Bearer k-priv"},
    )
    with urllib.request.urlopen(req2, timeout=30) as resp:
        assert orjson.loads(resp.read())["accepted"] == 1
    priv.wait()
    topics = dump_topics(priv, *names.all_raw, names.dead_letters, names.identity_links)
    stored = dump_store(priv)
    # only this test's events: the module's other tests put clear values on the raw topics on purpose
    for clear in _clear_forms():
        assert clear.lower() not in topics, clear
        assert clear.lower() not in stored, clear
    assert "phone_sha256:" in stored and "email_sha256:" in stored
    # the hashed phone and e-mail still identify: the wrong-case keys became identifiers
    [row] = priv.rows("SELECT email_hash != '' AS e, phone_hash != '' AS p FROM events WHERE anonymous_id = 'ck-h2'")
    assert row == {"e": 1, "p": 1} or row == {"e": True, "p": True}


def test_the_worker_scrubs_free_text_phones_that_skipped_the_edge(priv: Stack) -> None:
    phone = "07 11 22 33 99"
    e = ev("search", {"anonymous_id": "ck-direct"}, properties={"query": f"rappelez-moi au {phone}"})
    bad = ev("comment", {"anonymous_id": "ck-direct"}, properties={"text": f"tel {phone}"})  # no post_id: dead
    with Publisher(priv.settings) as pub:  # a producer writing to Kafka itself
        pub.publish_raw("web", orjson.dumps(e))
        pub.publish_raw("social", orjson.dumps(bad))
    priv.wait()
    [row] = priv.rows("SELECT properties FROM events WHERE event_id = {id:UUID}", id=e["event_id"])
    assert "phone_sha256:" in str(row["properties"])
    stored = dump_store(priv)
    assert phone not in stored and "0711223399" not in stored


def test_refused_and_unknown_input_at_the_edge_keeps_no_clear_value(priv: Stack) -> None:
    """What the collector refuses (too deep, a clear identifier it cannot hash, not an object) and
    what it does not know (unknown keys, a URL's query string) never reaches a topic or a table
    in clear, in any of the spellings a leak takes."""
    names = TopicNames(prefix=priv.settings.topic_prefix)
    deep: dict[str, Any] = {"x": "deepleak@example.org"}
    for _ in range(20):
        deep = {"d": deep}
    batch = [
        ev("page_view", {"anonymous_id": "ck-e1", "email": "deepleak@example.org"}, properties=deep),
        ev(
            "search",
            {"anonymous_id": "ck-e2", "email": ["listleak@example.org"]},
            properties={"query": "also freeleak@example.org 06 12 34 56 10"},
        ),
        "toplevelleak@example.org",
        ev(
            "page_view",
            {"anonymous_id": "ck-e3", "mobile": "+33 6 12 34 56 01"},
            properties={"title": "t", "keyleak@example.org": 1},
            context={"page_url": "https://shop.example.com/?tel=0612345603&e=urlleak%40example.org"},
            notes={"x": "noteleak@example.org"},
        ),
        ev(
            "search",
            {"anonymous_id": "ck-e4"},
            properties={
                "query": "DOUBLE entleak&#64;example.org 555 - 123 - 4567 06/12/34/56/05 "
                "06\u00a012\u00a034\u00a056\u00a007"
            },
        ),
    ]
    body = orjson.dumps({"batch": batch}).replace(b"DOUBLE", b"escleak\\\\u0040example.org")
    req = urllib.request.Request(
        f"http://127.0.0.1:{priv.worker.port}/v1/collect", data=body, headers={"Authorization": "Bearer k-priv"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = orjson.loads(resp.read())
    assert [r["accepted"] for r in answer["results"]] == [False, False, False, True, True]
    assert {"context.page_url"}.isdisjoint(answer["results"][3]["dropped"])  # known, kept (scrubbed)
    assert {"notes", "properties.keyleak@example.org", "identities.mobile"} <= set(answer["results"][3]["dropped"])
    priv.wait()
    topics = dump_topics(priv, *names.all_raw, names.dead_letters, names.identity_links)
    stored = dump_store(priv)
    leaks = [
        "deepleak@",
        "listleak@",
        "freeleak@",
        "toplevelleak@",
        "keyleak@",
        "noteleak@",
        "urlleak",
        "escleak",
        "entleak",
        "12 34 56 10",
        "12345610",
        "12 34 56 01",
        "12345601",
        "12345603",
        "123 - 4567",
        "12/34/56/05",
    ]
    for leak in leaks:
        assert leak not in topics, leak
        assert leak not in stored, leak
    assert "06\u00a012".lower() not in topics and "06\u00a012" not in stored
