from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.identity.pii import hash_email
from streams.ingest.normalize import DeadLetter, Normalizer, RawItem
from streams.settings import Settings
from tests.conftest import event

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def items(*payloads: bytes) -> list[RawItem]:
    return [RawItem(p, f"raw.web/0/{i}", NOW) for i, p in enumerate(payloads)]


def test_valid_invalid_and_duplicates_are_separated(settings: Settings) -> None:
    n = Normalizer(settings)
    login = orjson.dumps(event("login"))
    out = n.normalize(items(login, login, b"{oops", b'{"type": "x"}'))
    assert len(out.rows) == 1 and out.duplicates == 1
    assert [d.reason for d in out.dead] == ["unparseable", "unknown_type"]
    assert out.dead[0].payload == b"{oops" and out.dead[0].dl_id == "raw.web/0/2"


def test_same_id_different_body_is_a_dead_letter_not_a_silent_drop(settings: Settings) -> None:
    n = Normalizer(settings)
    a = event("like")
    b = {**a, "properties": {"post_id": "other", "network": "instagram"}}
    out = n.normalize(items(orjson.dumps(a), orjson.dumps(b)))
    assert len(out.rows) == 1
    assert [d.reason for d in out.dead] == ["conflicting_duplicate"]


def test_redelivery_across_batches_is_dropped_by_the_window(settings: Settings) -> None:
    n = Normalizer(settings)
    p = orjson.dumps(event("search"))
    assert len(n.normalize(items(p)).rows) == 1
    assert n.normalize(items(p)).duplicates == 1


def test_row_fields(settings: Settings) -> None:
    out = Normalizer(settings).normalize(items(orjson.dumps(event("order_completed"))))
    row = out.rows[0]
    assert row["is_conversion"] == 1 and row["revenue"] == 99.5 and row["order_id"] == "o-1"
    assert row["primary_identifier"] == "crm:crm-77"
    assert row["identifiers"] == ["crm:crm-77", "anon:ck-abc123"]
    assert row["event_time"].tzinfo is UTC
    assert out.links.dicts()[0]["conversion"] is True


def test_touchpoint_classification_and_links(settings: Settings) -> None:
    out = Normalizer(settings).normalize(items(orjson.dumps(event("page_view")), orjson.dumps(event("login"))))
    assert out.rows[0]["touch_channel"] == "web/paid-search"
    assert out.rows[1]["touch_channel"] == ""
    # the page view is a touch: it goes to the identity stage with its one identifier (a touch that
    # arrives after a conversion it precedes changes that conversion's path); the login links
    # cookie and CRM id
    links = out.links.dicts()
    assert [link["identifiers"] for link in links] == [["anon:ck-abc123"], ["crm:crm-77", "anon:ck-abc123"]]
    assert links[1]["verified_crm"] == "crm:crm-77"
    search = Normalizer(settings).normalize(items(orjson.dumps(event("search"))))
    assert search.rows[0]["touch_channel"] == "" and not search.links.dicts()  # neither touch nor link


def test_shared_device_never_becomes_an_identifier(settings: Settings) -> None:
    ev = event("loyalty_scan", identities={"loyalty_id": "loy-9", "device_id": "mirror-paris-1"})
    out = Normalizer(settings).normalize(items(orjson.dumps(ev)))
    assert out.rows[0]["identifiers"] == ["loyalty:loy-9"]
    assert out.links.dicts()[0]["refused"] == [["device:mirror-paris-1", "refused_shared_device"]]


def test_no_analytics_consent_keeps_the_event_but_no_person(settings: Settings) -> None:
    ev = event("login", consent={"analytics": False})
    out = Normalizer(settings).normalize(items(orjson.dumps(ev)))
    row = out.rows[0]
    assert row["consent_analytics"] == 0 and row["identifiers"] == [] and row["user_id"] == ""
    assert len(out.links) == 0


def test_junk_identifiers_are_refused(settings: Settings) -> None:
    pepper = settings.pepper()
    ev = event(
        "login", identities={"anonymous_id": "undefined", "user_id": "crm-77", "email_hash": hash_email("", pepper)}
    )
    out = Normalizer(settings).normalize(items(orjson.dumps(ev)))
    assert out.rows[0]["identifiers"] == ["crm:crm-77"]
    assert sorted(r[1] for r in out.links.dicts()[0]["refused"]) == ["refused_junk", "refused_junk"]


def test_dead_letter_message_round_trips_any_bytes() -> None:
    d = DeadLetter(
        dl_id="x/0/1",
        reason="unparseable",
        detail="d",
        source="x",
        event_id="",
        payload=bytes(range(256)),
        received_at=NOW,
    )
    assert DeadLetter.from_message(d.message()) == d


def test_a_stage_failure_on_one_event_is_a_dead_letter_not_a_crash(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    n = Normalizer(settings, native=False)
    boom = orjson.dumps(event("like"))
    original = n._emit

    def flaky(kept, *a, **kw):  # type: ignore[no-untyped-def]
        if any(k.event.type == "like" for k in kept):
            raise KeyError("simulated bug")
        return original(kept, *a, **kw)

    monkeypatch.setattr(n, "_emit", flaky)
    out = n.normalize(items(boom, orjson.dumps(event("search"))))
    assert len(out.rows) == 1
    assert [(d.reason, d.payload) for d in out.dead] == [("processing_error", boom)]
