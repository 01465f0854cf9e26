"""Identity guards through the publisher, Kafka and the worker: the placeholders people
type (in clear, in any case, or already hashed, peppered or not) join nobody; one phone written
two ways is one identifier; a CRM id never becomes verified beside another."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from streams.identity.pii import hash_email, hash_phone
from streams.ingest.publisher import Publisher
from tests.integration.conftest import Stack, ev

pytestmark = pytest.mark.integration

JUNK_CLEAR = (
    ("email", "test@test.com"),
    ("email", "TEST@Test.Com"),
    ("email", "N/A"),
    ("email", "nan"),
    ("email", "unknown"),
    ("email", "noemail@noemail.com"),
    ("email", "a@a.a"),
    ("phone", "0000000000"),
    ("phone", "1234567890"),
    ("phone", "+33 0 00 00 00 00"),
)


def _people(stack: Stack, cookies: list[str]) -> set[str]:
    rows = stack.rows(
        "SELECT identifier, person_id FROM identity_current WHERE identifier IN {ids:Array(String)}",
        ids=[f"anon:{c}" for c in cookies],
    )
    assert len(rows) == len(cookies)
    return {str(r["person_id"]) for r in rows}


def test_placeholders_join_nobody_in_clear_or_hashed(stack: Stack) -> None:
    pepper = stack.settings.pepper()
    hashed = [
        ("email_hash", hash_email("test@test.com", pepper)),
        ("email_hash", hashlib.sha256(b"").hexdigest()),
        ("email_hash", hashlib.sha256(b"null").hexdigest()),
    ]
    cookies: list[str] = []
    with Publisher(stack.settings) as pub:
        for n, (kind, value) in enumerate([*JUNK_CLEAR, *hashed]):
            for k in range(2):  # two strangers typing the same placeholder
                cookie = f"ck-junk-{n}-{k}"
                cookies.append(cookie)
                pub.publish(ev("signup", {"anonymous_id": cookie, kind: value}))
    stack.wait()
    assert len(_people(stack, cookies)) == len(cookies)
    refused = stack.rows(
        "SELECT count() AS n FROM identity_links WHERE decision = 'refused_junk' AND event_id IN "
        "(SELECT toString(event_id) FROM events WHERE anonymous_id LIKE 'ck-junk-%')"
    )
    assert refused[0]["n"] == len(cookies)


def test_one_phone_written_two_ways_is_one_identifier(stack: Stack) -> None:
    pepper = stack.settings.pepper()
    with Publisher(stack.settings) as pub:
        pub.publish(ev("signup", {"anonymous_id": "ck-e164-1", "phone": "+33 (0)6 41 52 63 70"}))
        pub.publish(ev("signup", {"anonymous_id": "ck-e164-2", "phone": "06.41.52.63.70"}))
    stack.wait()
    assert len(_people(stack, ["ck-e164-1", "ck-e164-2"])) == 1
    assert hash_phone("+33 6 41 52 63 70", pepper) == hash_phone("0033641526370", pepper)


def test_a_crm_id_verified_inside_another_verified_person_splits_it(stack: Stack) -> None:
    """Issue: B arrived unverified on a family cookie and joined A; B's verified login later must
    not make one person hold two verified CRM ids. The person is split (recorded), B's login links."""
    with Publisher(stack.settings) as pub:
        at = "2026-03-02T09:00:00Z"
        pub.publish(
            ev("login", {"anonymous_id": "ck-family", "user_id": "crm-anne", "crm_verified": True}, occurred_at=at)
        )
    stack.wait()
    with Publisher(stack.settings) as pub:
        pub.publish(ev("page_view", {"anonymous_id": "ck-family", "user_id": "crm-ben"}))  # 10:00
    stack.wait()
    assert _person(stack, "crm:crm-ben") == _person(stack, "crm:crm-anne")  # the wrong merge, for now
    with Publisher(stack.settings) as pub:
        ids = {"anonymous_id": "ck-ben-phone", "user_id": "crm-ben", "crm_verified": True}
        pub.publish(ev("login", ids, occurred_at="2026-03-02T11:00:00Z"))
    stack.wait()
    rows = stack.rows(
        "SELECT identifier, argMax(person_id, version) AS person_id, argMax(verified, version) AS verified "
        "FROM identity_map WHERE identifier IN {ids:Array(String)} GROUP BY identifier",
        ids=["crm:crm-anne", "crm:crm-ben", "anon:ck-ben-phone", "anon:ck-family"],
    )
    by = {r["identifier"]: r for r in rows}
    anne, ben = by["crm:crm-anne"]["person_id"], by["crm:crm-ben"]["person_id"]
    assert anne != ben and by["anon:ck-family"]["person_id"] == anne and by["anon:ck-ben-phone"]["person_id"] == ben
    assert int(by["crm:crm-anne"]["verified"]) == int(by["crm:crm-ben"]["verified"]) == 1
    decided = {
        r["decision"]
        for r in stack.rows(
            "SELECT decision FROM identity_links WHERE identifier_a IN ('crm:crm-ben', 'anon:ck-ben-phone')"
        )
    }
    assert {"refused_crm_conflict", "split_crm_conflict"} <= decided


def _person(stack: Stack, identifier: str) -> str:
    rows = stack.rows("SELECT person_id FROM identity_current WHERE identifier = {i:String}", i=identifier)
    return str(rows[0]["person_id"]) if rows else ""


ROOM = {"store_id": "lyon-02", "fitting_room_id": "fr-1"}


def test_a_mirror_known_as_shared_never_merges_shoppers_even_unflagged_and_after_the_fact(stack: Stack) -> None:
    """Issue: one look_shared without device_kind merged two shoppers through device:mirror-c1-02.
    Here the mirror merges two shoppers before anything says it is shared; the first flagged event
    takes that merge back, and later unflagged events link no one through it."""
    mirror = {"device_id": "mirror-c1-02"}
    look = {"look_id": "lk", "network": "instagram", "session_id": "s"}
    with Publisher(stack.settings) as pub:
        pub.publish(ev("look_shared", {"loyalty_id": "LG-ana", **mirror}, context=ROOM, properties=look))
        pub.publish(ev("look_shared", {"loyalty_id": "LG-bea", **mirror}, context=ROOM, properties=look))
    stack.wait()
    assert _person(stack, "loyalty:LG-ana") == _person(stack, "loyalty:LG-bea")  # not known yet
    with Publisher(stack.settings) as pub:
        pub.publish(
            ev(
                "item_tried",
                mirror,
                context={**ROOM, "device_kind": "mirror"},
                properties={"sku": "x", "session_id": "s"},
            )
        )
    stack.wait()
    with Publisher(stack.settings) as pub:
        pub.publish(ev("look_shared", {"loyalty_id": "LG-cle", **mirror}, context=ROOM, properties=look))
    stack.wait()
    people = {_person(stack, f"loyalty:LG-{n}") for n in ("ana", "bea", "cle")}
    assert len(people) == 3 and "" not in people
    split = stack.rows("SELECT identifier_a FROM identity_links WHERE decision = 'split_shared_device'")
    assert {"loyalty:LG-ana", "loyalty:LG-bea"} <= {r["identifier_a"] for r in split}
    [known] = stack.rows("SELECT reason FROM shared_identifiers WHERE identifier = 'device:mirror-c1-02'")
    assert known["reason"] == "flagged"


def test_parcours_load_devices_makes_a_device_shared(stack: Stack, tmp_path: Path) -> None:
    with Publisher(stack.settings) as pub:
        pub.publish(ev("login", {"loyalty_id": "LD-1", "device_id": "kiosk-lyon"}))
        pub.publish(ev("login", {"loyalty_id": "LD-2", "device_id": "kiosk-lyon"}))
    stack.wait()
    assert _person(stack, "loyalty:LD-1") == _person(stack, "loyalty:LD-2")
    listed = tmp_path / "devices.csv"
    listed.write_text("device_id,kind\nkiosk-lyon,kiosk\nmirror-lyon-1,mirror\n")
    out = stack.cli("load", "devices", str(listed))
    assert out.returncode == 0 and "2 shared devices" in out.stdout, out.stderr
    stack.wait()
    assert _person(stack, "loyalty:LD-1") != _person(stack, "loyalty:LD-2")
    empty = tmp_path / "none.csv"
    empty.write_text("device_id\n")
    bad = stack.cli("load", "devices", str(empty))
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "no device ids" in bad.stderr


def test_after_a_restart_a_copy_with_other_content_is_refused_and_the_original_kept(stack: Stack) -> None:
    """The issue's attack: after a restart, a third body for an order's event_id (revenue 9999,
    another cookie and CRM id) replaced the original and linked a new identifier."""
    original = ev(
        "order_completed",
        {"anonymous_id": "ck-order-1", "user_id": "crm-order-1"},
        properties={"order_id": "o-dup", "revenue": 120.0, "currency": "EUR"},
    )
    with Publisher(stack.settings) as pub:
        pub.publish(original)
    stack.wait()
    stack.worker.stop()
    stack.worker.start()  # the dedupe window is empty now
    forged = {
        **original,
        "identities": {"anonymous_id": "ck-forged", "user_id": "crm-forged"},
        "properties": {**original["properties"], "revenue": 9999.0},
    }
    retry = {**original, "sent_at": original["occurred_at"]}  # re-serialised by a retrying producer
    with Publisher(stack.settings) as pub:
        pub.publish(forged)
        pub.publish(retry)
    stack.wait()
    rows = stack.rows("SELECT revenue FROM events_dedup WHERE event_id = {e:UUID}", e=original["event_id"])
    assert [r["revenue"] for r in rows] == [120.0]
    dead = stack.rows("SELECT reason FROM dead_letters WHERE event_id = {e:String}", e=original["event_id"])
    assert [r["reason"] for r in dead] == ["conflicting_duplicate"]
    assert _person(stack, "anon:ck-forged") == "" and _person(stack, "crm:crm-forged") == ""
