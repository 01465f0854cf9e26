"""Links taken back: a device found shared after it linked customers, a CRM record deleted. The
persons are rebuilt from the evidence that still holds, their conversions credited again."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.backfill import backfill
from streams.identity.crm import crm_links
from streams.identity.stage import IdentityStage
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate

ARRIVAL_MS = 1_773_000_000_000  # 2026-03-08, after every event below
ROOM = {"store_id": "paris-01", "fitting_room_id": "fr-2"}
MIRROR = {"device_kind": "mirror"}
LOOK = {"look_id": "look-1", "network": "instagram", "session_id": "s-1"}


def ev(etype: str, at: str, ids: dict[str, Any], **kw: Any) -> bytes:
    return orjson.dumps({"event_id": str(uuid.uuid4()), "type": etype, "occurred_at": at, "identities": ids, **kw})


def till(at: str, card: str, **ids: Any) -> bytes:
    return ev(
        "pos_purchase",
        at,
        {"loyalty_id": card, **ids},
        context={"store_id": "paris-01"},
        properties={"order_id": f"o-{card}-{at}", "revenue": 50.0, "currency": "EUR"},
    )


class Store:
    def __init__(self, tmp_path: Path, settings: Settings) -> None:
        self.ch = ChdbBackend(tmp_path / "ch")
        migrate(self.ch)
        self.settings = settings
        self.stage = IdentityStage(settings, self.ch)
        self.stage.load()

    def feed(self, *payloads: bytes) -> None:
        for p in payloads:  # one event a batch: the order they arrive in matters here
            stats = backfill(self.ch, self.settings, [(p, ARRIVAL_MS)], identity=self.stage)
            assert stats.events == 1, self.ch.query("SELECT reason, detail FROM dead_letters")

    def person(self, identifier: str) -> str:
        return self.stage.graph.person_of(identifier)

    def decisions(self, decision: str) -> list[dict[str, Any]]:
        return self.ch.query(
            "SELECT identifier_a, identifier_b, person_id FROM identity_links FINAL WHERE decision = {d:String}",
            {"d": decision},
        )

    def paths(self) -> dict[str, list[str]]:
        rows = self.ch.query("SELECT person_id, path FROM journeys FINAL WHERE source = 'live'")
        return {str(r["person_id"]): list(r["path"]) for r in rows}


@pytest.fixture
def store(tmp_path: Path, settings: Settings) -> Iterator[Store]:
    s = Store(tmp_path, settings)
    try:
        yield s
    finally:
        s.ch.close()  # chDB: one data path a process at a time


def test_a_device_once_flagged_shared_links_no_one_later(store: Store) -> None:
    mirror = {"device_id": "mirror-c1-02"}
    store.feed(
        ev("loyalty_scan", "2026-03-02T10:00:00Z", {"loyalty_id": "L-ana", **mirror}, context={**ROOM, **MIRROR}),
        # the attack: a look shared without device_kind
        ev("look_shared", "2026-03-02T11:00:00Z", {"loyalty_id": "L-bea", **mirror}, context=ROOM, properties=LOOK),
        ev("look_shared", "2026-03-02T12:00:00Z", {"loyalty_id": "L-cle", **mirror}, context=ROOM, properties=LOOK),
    )
    people = {store.person(f"loyalty:L-{n}") for n in ("ana", "bea", "cle")}
    assert len(people) == 3 and store.person("device:mirror-c1-02") not in people
    assert len(store.decisions("refused_shared_device")) == 3  # the flagged event and both that omitted it


def test_a_device_found_shared_later_has_its_links_taken_back(store: Store) -> None:
    kiosk = {"device_id": "kiosk-7"}
    store.feed(
        ev("page_view", "2026-03-02T09:00:00Z", {"anonymous_id": "ck-ana"}, context={"utm_medium": "email"}),
        ev("login", "2026-03-02T09:01:00Z", {"anonymous_id": "ck-ana", "loyalty_id": "L-ana"}),
        ev("login", "2026-03-02T10:00:00Z", {"loyalty_id": "L-ana", **kiosk}),  # unflagged: linked
        ev("login", "2026-03-02T11:00:00Z", {"loyalty_id": "L-bea", **kiosk}),  # joins Bea to Ana
        till("2026-03-03T15:00:00Z", "L-bea"),
    )
    assert store.person("loyalty:L-bea") == store.person("loyalty:L-ana")
    assert list(store.paths().values()) == [["web/email"]]  # Bea's sale credited to Ana's visit
    # the kiosk is then flagged by its own app: shared from now on, and for the links it made
    store.feed(ev("page_view", "2026-03-03T16:00:00Z", kiosk, context={"device_kind": "kiosk"}))
    ana, bea = store.person("loyalty:L-ana"), store.person("loyalty:L-bea")
    assert ana != bea and store.person("anon:ck-ana") == ana
    assert store.person("device:kiosk-7") not in (ana, bea)
    assert {r["identifier_a"] for r in store.decisions("split_shared_device")} >= {"loyalty:L-bea"}
    assert store.paths() == {bea: []}  # Bea's sale credited again: no linked touchpoint


def test_a_device_seen_with_many_customers_in_a_day_becomes_shared(store: Store) -> None:
    tablet = {"device_id": "tablet-s1"}
    store.feed(
        *(ev("login", f"2026-03-02T1{k}:00:00Z", {"loyalty_id": f"L-{k}", **tablet}) for k in range(3)),
    )
    assert len({store.person(f"loyalty:L-{k}") for k in range(3)}) == 3
    assert store.stage.registry.known["device:tablet-s1"] == "behaviour"
    assert store.ch.query("SELECT count() AS n FROM shared_identifiers")[0]["n"] == 1
    # a family tablet (two customers) stays a link
    store.feed(*(ev("login", f"2026-03-02T1{k}:00:00Z", {"loyalty_id": f"F-{k}", "device_id": "ipad"}) for k in (1, 2)))
    assert store.person("loyalty:F-1") == store.person("loyalty:F-2")


def test_the_registry_survives_a_restart(store: Store, tmp_path: Path, settings: Settings) -> None:
    store.feed(ev("page_view", "2026-03-02T09:00:00Z", {"device_id": "till-3"}, context={"device_kind": "pos"}))
    again = IdentityStage(settings, store.ch)
    again.load()
    assert "device:till-3" in again.registry


def test_a_deleted_crm_record_takes_its_links_back(store: Store, settings: Settings) -> None:
    pepper = settings.pepper()
    record = {"crm_id": "c-9", "loyalty_ids": ["L-9"], "email": "nine@example.org"}
    load = crm_links([(1, record, "")], pepper)
    store.stage.process([load.links])
    from streams.identity.pii import hash_email

    email = f"email:{hash_email('nine@example.org', pepper)}"
    assert store.person("loyalty:L-9") == store.person(email) == store.person("crm:c-9")
    gone = crm_links([(1, {**record, "deleted": True}, "")], pepper)
    assert gone.retract == ["crm:c-9"] and not gone.links.group
    store.stage.process([{"control": "retract", "source": src} for src in gone.retract])
    assert len({store.person("loyalty:L-9"), store.person(email), store.person("crm:c-9")}) == 3
    assert len(store.decisions("split_crm_record")) == 3


def test_devices_loaded_from_a_list_take_back_their_links(store: Store) -> None:
    store.feed(
        ev("login", "2026-03-02T10:00:00Z", {"loyalty_id": "L-a", "device_id": "pos-9"}),
        ev("login", "2026-03-02T11:00:00Z", {"loyalty_id": "L-b", "device_id": "pos-9"}),
    )
    assert store.person("loyalty:L-a") == store.person("loyalty:L-b")
    store.stage.process([{"control": "shared_devices", "devices": ["pos-9", "mirror-x"]}])
    assert store.person("loyalty:L-a") != store.person("loyalty:L-b")
    assert store.stage.registry.known["device:mirror-x"] == "loaded"


def test_an_email_seen_with_many_customers_in_a_day_is_junk_by_behaviour(store: Store) -> None:
    """A store's own address typed at the till for customers who give none: no list knows it."""
    address = hashlib.sha256(b"contact@the-shop.fr").hexdigest()
    shop = f"email:{address}"
    store.feed(*(till(f"2026-03-02T1{k}:00:00Z", f"L-shop-{k}", email_hash=address) for k in range(3)))
    assert len({store.person(f"loyalty:L-shop-{k}") for k in range(3)}) == 3
    assert store.stage.registry.known[shop] == "behaviour"
    assert store.decisions("split_junk") and store.decisions("refused_junk")


def test_a_deleted_crm_records_merges_stay_withdrawn_at_later_splits(store: Store, settings: Settings) -> None:
    record = {"crm_id": "c-7", "loyalty_ids": ["L-7", "L-other"]}
    store.stage.process([crm_links([(1, record, "")], settings.pepper()).links])
    store.stage.process([{"control": "retract", "source": "crm:c-7"}])
    store.feed(
        ev("login", "2026-03-02T09:00:00Z", {"user_id": "c-7", "loyalty_id": "L-7"}),
        ev("login", "2026-03-02T10:00:00Z", {"loyalty_id": "L-7", "device_id": "kiosk-2"}),
        ev("login", "2026-03-02T10:05:00Z", {"loyalty_id": "L-other", "device_id": "kiosk-2"}),
        ev("page_view", "2026-03-02T11:00:00Z", {"device_id": "kiosk-2"}, context={"device_kind": "kiosk"}),
    )
    assert store.person("crm:c-7") == store.person("loyalty:L-7") != store.person("loyalty:L-other")


def test_a_conversion_sent_again_with_a_split_keeps_one_credit(store: Store) -> None:
    kiosk = {"device_id": "kiosk-8"}
    sale = till("2026-03-03T15:00:00Z", "L-bea")
    store.feed(
        ev("page_view", "2026-03-02T09:00:00Z", {"anonymous_id": "ck-ana"}, context={"utm_medium": "email"}),
        ev("login", "2026-03-02T09:01:00Z", {"anonymous_id": "ck-ana", "loyalty_id": "L-ana"}),
        ev("login", "2026-03-02T10:00:00Z", {"loyalty_id": "L-ana", **kiosk}),
        ev("login", "2026-03-02T11:00:00Z", {"loyalty_id": "L-bea", **kiosk}),
        sale,
    )
    flag = ev("page_view", "2026-03-03T16:00:00Z", kiosk, context={"device_kind": "kiosk"})
    # after a restart: the sale sent again (the same content) in the batch that flags the kiosk
    backfill(store.ch, store.settings, [(sale, ARRIVAL_MS + 1000), (flag, ARRIVAL_MS + 1001)], identity=store.stage)
    rows = store.ch.query(
        "SELECT channel, credit FROM attribution_credits FINAL WHERE model = 'linear' AND source = 'live' "
        "AND credit != 0"
    )
    assert [(r["channel"], r["credit"]) for r in rows] == [("no linked touchpoint", 1.0)]


def test_malformed_control_messages_change_nothing(store: Store) -> None:
    store.feed(
        ev("login", "2026-03-02T10:00:00Z", {"loyalty_id": "L-m1", "device_id": "pos-m"}),
        ev("login", "2026-03-02T11:00:00Z", {"loyalty_id": "L-m2", "device_id": "pos-m"}),
    )
    before = store.person("loyalty:L-m1")
    store.stage.process(
        [
            {"control": "shared_devices", "devices": 5},
            {"control": "shared_devices", "devices": [None, ""]},
            {"control": "retract"},
            {"control": "retract", "source": 7},
        ]
    )
    assert store.person("loyalty:L-m1") == store.person("loyalty:L-m2") == before
    assert not store.stage.registry.known
