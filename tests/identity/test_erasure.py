"""Erasure in the identity stage against a real store: dead letters go too, the record keeps
peppered hashes only, an erased person's id never comes back (stage and view alike), and a
replayed request is not done twice."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.identity.erased import Erasures, identifier_hash
from streams.identity.erasure import control_message, dead_letter_needles
from streams.identity.explain import identifier_key
from streams.identity.fresh import fresh_person
from streams.identity.identifiers import singleton_person
from streams.identity.pii import hash_email, hash_phone
from streams.identity.stage import IdentityStage
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate

T = "2026-03-02T12:00:00+00:00"


def _link(event_id: str, *identifiers: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "identifiers": list(identifiers),
        "refused": [],
        "verified_crm": None,
        "event_time": T,
        "conversion": False,
    }


def _event(ch: ChdbBackend, *identifiers: str) -> str:
    eid = str(uuid.uuid4())
    ch.insert(
        "events",
        [
            {
                "event_id": eid,
                "type": "page_view",
                "channel": "web",
                "primary_identifier": identifiers[0],
                "identifiers": list(identifiers),
                "event_time": datetime.now(UTC),
                "occurred_at": datetime.now(UTC),
                "received_at": datetime.now(UTC),
                "ingested_at": datetime.now(UTC),
            }
        ],
    )
    return eid


def _dead(ch: ChdbBackend, dl_id: str, payload: str, event_id: str = "") -> None:
    ch.insert(
        "dead_letters",
        [
            {
                "dl_id": dl_id,
                "reason": "invalid",
                "detail": "",
                "source": "raw.web/0/1",
                "event_id": event_id,
                "payload": payload,
                "received_at": datetime.now(UTC),
            }
        ],
    )


@pytest.fixture
def ch(tmp_path: Path) -> ChdbBackend:
    b = ChdbBackend(tmp_path / "ch")
    migrate(b)
    return b


def _forget(st: IdentityStage, key: str) -> dict[str, Any]:
    msg = control_message(key, uuid.uuid4().hex)
    st.process([msg])
    [row] = st._b.query("SELECT * FROM erasures FINAL WHERE erasure_id = {e:String}", {"e": msg["erasure_id"]})
    return row


def test_dead_letters_of_the_person_are_erased_and_hashes_are_peppered(ch: ChdbBackend, settings: Settings) -> None:
    published: list[dict[str, Any]] = []
    st = IdentityStage(settings, ch, publish=published.append)
    mail = hash_email("Ana@Example.org", settings.pepper())
    st.process([_link("e1", "anon:ck-a", "crm:a1", f"email:{mail}")])
    eid = _event(ch, "anon:ck-a")
    _dead(ch, "d-by-event", '{"x": 1}', event_id=eid)
    _dead(ch, "d-by-cookie", '{"identities": {"anonymous_id": "ck-a"}, "type": "nope"}')
    _dead(ch, "d-by-mail", f"not json email_sha256:{mail}")
    _dead(ch, "d-other", '{"identities": {"anonymous_id": "ck-a2"}}')  # a longer cookie: not hers
    row = _forget(st, "anon:ck-a")
    left = {r["dl_id"] for r in ch.query("SELECT dl_id FROM dead_letters")}
    assert left == {"d-other"}
    ids = ["anon:ck-a", "crm:a1", f"email:{mail}"]
    assert sorted(row["identifier_hashes"]) == sorted(identifier_hash(i, settings.pepper()) for i in ids)
    assert not {hashlib.sha256(i.encode()).hexdigest() for i in ids} & set(row["identifier_hashes"])
    assert row["rows_deleted"] >= 4 + 3  # 3 dead letters, 1 event, 3 map rows at least
    assert [p["erasure_id"] for p in published] == [row["erasure_id"]]
    assert "ck-a" not in str(published)


def test_dead_letters_are_matched_on_the_identifiers_they_carry(ch: ChdbBackend, settings: Settings) -> None:
    """Neither another person's dead letter that merely contains the value (as a type name, or in
    another case) nor a miss because a writer escaped the value: identifiers are read, not grepped."""
    st = IdentityStage(settings, ch)
    st.process([_link("e1", "anon:order_completed", "crm:josé-42")])
    _dead(ch, "d-escaped", '{"identities": {"user_id": "jos\\u00e9-42"}, "properties": {"revenue": -1}}')
    _dead(ch, "d-other-type", '{"type": "order_completed", "identities": {"anonymous_id": "ck-z"}}')
    _dead(ch, "d-other-case", '{"identities": {"anonymous_id": "ORDER_COMPLETED"}}')
    _dead(ch, "d-unparseable", 'cut {"anonymous_id": "order_completed", "ty')
    _forget(st, "anon:order_completed")
    left = {r["dl_id"] for r in ch.query("SELECT dl_id FROM dead_letters")}
    assert left == {"d-other-type", "d-other-case"}


def test_an_erased_person_id_never_comes_back(ch: ChdbBackend, settings: Settings) -> None:
    st = IdentityStage(settings, ch)
    st.process([_link("e1", "anon:ck-b", "crm:b1")])
    erased = st.graph.person_of("crm:b1")
    assert erased == singleton_person("anon:ck-b")
    first = _forget(st, "crm:b1")
    assert first["person_id"] == erased and first["root_person_id"] == erased
    # the cookie returns, linked: the stage gives it a fresh id, and so does a restarted stage
    st.process([_link("e2", "anon:ck-b", "device:d-b")])
    fresh = st.graph.person_of("anon:ck-b")
    assert fresh == fresh_person(erased, first["erasure_id"]) != erased
    [m] = ch.query("SELECT person_id FROM identity_current WHERE identifier = 'anon:ck-b'")
    assert m["person_id"] == fresh
    again = IdentityStage(settings, ch)
    again.load()
    assert again.graph.person_of("anon:ck-b") == fresh
    # erased again: the next return is salted with the later erasure, from the same root
    second = _forget(again, "anon:ck-b")
    assert second["person_id"] == fresh and second["root_person_id"] == erased
    again.process([_link("e3", "anon:ck-b", "device:d-c")])
    assert again.graph.person_of("anon:ck-b") == fresh_person(erased, second["erasure_id"])
    # an identifier nobody maps: the view derives the same fresh id from the erasures table
    _event(ch, "anon:ck-b")
    ch.execute("DELETE FROM identity_map WHERE identifier = 'anon:ck-b'")
    [v] = ch.query("SELECT DISTINCT person_id FROM events_stitched WHERE primary_identifier = 'anon:ck-b'")
    assert v["person_id"] == fresh_person(erased, second["erasure_id"])


def test_a_replayed_erasure_request_is_not_done_twice(ch: ChdbBackend, settings: Settings) -> None:
    st = IdentityStage(settings, ch)
    st.process([_link("e1", "anon:ck-c", "crm:c1")])
    msg = control_message("anon:ck-c", "e-once")
    st.process([msg])
    st.process([_link("e2", "anon:ck-c", "device:d-new")])  # after the erasure: a new person
    st.process([msg])  # the links topic read again
    assert ch.query("SELECT count() AS n FROM identity_current WHERE identifier = 'device:d-new'")[0]["n"] == 1


def test_clear_email_and_phone_keys_are_hashed_as_the_edge_does() -> None:
    assert identifier_key("email:Jane.Doe@Example.com", "pep") == f"email:{hash_email('jane.doe@example.com', 'pep')}"
    assert identifier_key("phone:+33 6 11 22 33 44", "pep") == f"phone:{hash_phone('+33611223344', 'pep')}"
    h = "a" * 64
    assert identifier_key(f"email:{h}", "pep") == f"email:{h}"
    assert identifier_key("anon:ck-1", "pep") == "anon:ck-1" and identifier_key("p0123", "pep") == "p0123"


def test_dead_letter_needles_match_whole_values() -> None:
    assert dead_letter_needles(["anon:ck-1", "social:instagram:bob"]) == ['"ck-1"', '"bob"', '"@bob"']
    # escaped as JSON writers escape non-ASCII, in either case of hex digit
    assert {'"jos\\u00e9-42"', '"jos\\u00E9-42"', '"josé-42"'} <= set(dead_letter_needles(["crm:josé-42"]))
    assert "email_sha256:" + "f" * 64 in dead_letter_needles(["email:" + "f" * 64])


def test_a_store_restored_from_before_an_erasure_is_erased_again_on_load(ch: ChdbBackend, settings: Settings) -> None:
    """The backup case: the erasures topic has a record the store lacks."""
    st = IdentityStage(settings, ch)
    st.process([_link("e1", "anon:ck-d", "crm:d1")])
    _event(ch, "anon:ck-d")
    pid = st.graph.person_of("crm:d1")
    topic = Erasures(settings.pepper())
    topic.add(
        {
            "erasure_id": "e-restored",
            "person_id": pid,
            "root_person_id": pid,
            "identifier_hashes": [identifier_hash("crm:d1", settings.pepper())],
            "requested_at": datetime.now(UTC).isoformat(),
            "done_at": datetime.now(UTC).isoformat(),
            "rows_deleted": 3,
        }
    )
    restored = IdentityStage(settings, ch, erasures=topic)
    restored.load()
    for sql in (
        "SELECT count() AS n FROM identity_map WHERE identifier IN ('anon:ck-d', 'crm:d1')",
        "SELECT count() AS n FROM events WHERE primary_identifier = 'anon:ck-d'",
    ):
        assert ch.query(sql)[0]["n"] == 0, sql
    assert ch.query("SELECT count() AS n FROM erasures FINAL WHERE erasure_id = 'e-restored'")[0]["n"] == 1
    assert len(restored.graph) == 0


@pytest.mark.parametrize("key", ["", " ", "anon:", "crm: ", "nope:x", "p-not-an-id"])
def test_a_request_that_names_no_person_erases_nothing(ch: ChdbBackend, settings: Settings, key: str) -> None:
    """An empty key once resolved to person "" and erased what no person owns: every unlinked
    till sale's credit ("no linked touchpoint"), and the summary no longer matched attribution."""
    st = IdentityStage(settings, ch)
    st.process([_link("e1", "anon:ck-keep", "crm:keep")])
    now = datetime.now(UTC)
    ch.insert(
        "attribution_credits",
        [
            {
                "model": "linear",
                "source": "live",
                "conversion_id": str(uuid.uuid4()),
                "person_id": "",
                "conversion_time": now,
                "channel": "no linked touchpoint",
                "credit": 1.0,
                "revenue_credit": 50.0,
                "computed_at": now,
            }
        ],
    )
    st.process([control_message(key, "er-nobody")])
    assert not ch.query("SELECT 1 FROM erasures WHERE erasure_id = 'er-nobody'")
    assert ch.query("SELECT count() AS n FROM attribution_credits")[0]["n"] == 1
    assert st.graph.person_of("anon:ck-keep") == st.graph.person_of("crm:keep")


def test_the_cli_refuses_a_key_that_names_no_person_before_reading_anything(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from streams.cli import main

    for key in ("", "email:", "nope:x"):
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "none"), "forget", key])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert (
            "neither a person id" in result.output
            or "no value after" in result.output
            or "not an identifier kind" in result.output
        )
        assert not (tmp_path / "none").exists()
