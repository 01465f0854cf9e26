"""The replay guard on its own: what it drops, what it keeps, and that it reads nothing when
every record arrived after the latest erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from streams.identity.erased import Erasures, identifier_hash
from streams.identity.identifiers import extract_values
from streams.identity.links import Links
from streams.ingest.normalize import DeadLetter
from streams.ingest.replay_guard import dead_letter_identifiers, screen_dead_letters, screen_events, screen_links

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
PEP = "pep"
MARGIN = timedelta(seconds=60)  # Erasures' default future_stamp_s: stamps up to this late are covered


def _erasures(*identifiers: str) -> Erasures:
    e = Erasures(PEP)
    e.add({"erasure_id": "e1", "identifier_hashes": [identifier_hash(i, PEP) for i in identifiers], "requested_at": AT})
    return e


def _table(rows: list[tuple[str, list[str], datetime]]) -> pa.Table:
    return pa.table(
        {
            "event_id": [r[0] for r in rows],
            "identifiers": pa.array([r[1] for r in rows], pa.list_(pa.string())),
            "received_at": pa.array([r[2] for r in rows], pa.timestamp("ms", tz="UTC")),
        }
    )


def test_records_of_an_erased_person_before_the_erasure_are_dropped() -> None:
    t = _table(
        [
            ("a", ["anon:x", "crm:crm-y"], AT - timedelta(days=1)),
            ("b", ["anon:x"], AT + MARGIN),  # stamped up to the margin after the request: erased
            ("c", ["anon:x"], AT + MARGIN + timedelta(milliseconds=1)),  # after: a new person
            ("d", ["anon:other"], AT - timedelta(days=1)),
        ]
    )
    kept, dropped = screen_events(t, _erasures("crm:crm-y", "anon:x"))
    assert dropped == {"a", "b"} and kept.column("event_id").to_pylist() == ["c", "d"]


def test_no_erasure_or_a_batch_after_the_latest_is_not_read() -> None:
    class Loud(Erasures):
        def erased(self, *a: object) -> bool:
            raise AssertionError("read")

    t = _table([("a", ["anon:x"], AT + MARGIN + timedelta(seconds=1))])
    assert screen_events(t, Erasures(PEP))[0] is t
    e = Loud(PEP)
    e.add({"erasure_id": "e1", "identifier_hashes": [identifier_hash("anon:x", PEP)], "requested_at": AT})
    assert screen_events(t, e)[0] is t


def test_links_and_dead_letters_are_screened_too() -> None:
    ex = extract_values(
        user_id="crm-y",
        loyalty_id=None,
        email_hash=None,
        phone_hash=None,
        social=None,
        device_id=None,
        anonymous_id="ck-x",
        crm_verified=False,
        device_shared=False,
    )
    links = Links([ex], [0, 0], ["a", "b"], [0, 0], [False, False])
    before = (AT - timedelta(hours=1) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    e = _erasures("crm:crm-y")
    assert len(screen_links(links, before, e)) == 0
    assert len(screen_links(links, before + 10**10, e)) == 2  # written after the erasure
    mail = "f" * 64
    letters = [
        DeadLetter("1", "invalid", "", "s", "", b'{"identities": {"user_id": "crm-y"}}', AT - timedelta(hours=1)),
        DeadLetter("2", "invalid", "", "s", "", f"junk email_sha256:{mail}".encode(), AT - timedelta(hours=1)),
        DeadLetter("3", "invalid", "", "s", "", b'{"identities": {"user_id": "crm-y"}}', AT + timedelta(hours=1)),
        DeadLetter("4", "invalid", "", "s", "", b'{"identities": {"user_id": "crm-z"}}', AT - timedelta(hours=1)),
    ]
    assert dead_letter_identifiers(letters[1].payload) == [f"email:{mail}"]
    kept = screen_dead_letters(letters, _erasures("crm:crm-y", f"email:{mail}"))
    assert [d.dl_id for d in kept] == ["3", "4"]
