"""A merge that arrives after the events it concerns: afterwards the journey is whole."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from streams.identity.explain import explain
from streams.ingest.publisher import Publisher
from tests.integration.conftest import Stack, start_stack

pytestmark = pytest.mark.integration


def ev(etype: str, at: str, ids: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": etype, "occurred_at": at, "identities": ids, **kw}


@pytest.fixture(scope="module")
def late(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(kafka, tmp_path_factory.mktemp("late"))
    try:
        yield stack
    finally:
        stack.worker.stop()


def test_late_merge_makes_the_journey_whole(late: Stack) -> None:
    social = {"network": "instagram", "handle": "late_ana"}
    touches = [
        ev(
            "page_view",
            "2026-03-02T09:00:00Z",
            {"anonymous_id": "ck-late-1"},
            context={"utm_medium": "cpc", "utm_source": "google"},
        ),
        ev("like", "2026-03-02T12:00:00Z", {"social": social}, properties={"post_id": "p1", "network": "instagram"}),
        ev(
            "qr_scan",
            "2026-03-02T20:31:00Z",
            {"device_id": "dev-late-1", "anonymous_id": "ck-late-2"},
            properties={"spot_id": "s1"},
        ),
    ]
    order = ev(
        "order_completed",
        "2026-03-03T10:00:00Z",
        {"user_id": "crm-late", "anonymous_id": "ck-late-3"},
        properties={"order_id": "o-late", "revenue": 120.0, "currency": "EUR"},
    )
    merges = [  # occurred before everything, arrive after everything
        ev("login", "2026-03-01T08:00:00Z", {"anonymous_id": "ck-late-1", "user_id": "crm-late", "crm_verified": True}),
        ev("login", "2026-03-01T08:05:00Z", {"user_id": "crm-late", "social": social}, properties={"method": "social"}),
        ev(
            "second_screen_checkin",
            "2026-03-01T20:00:00Z",
            {"device_id": "dev-late-1", "social": social},
            properties={"spot_id": "s0"},
        ),
    ]
    with Publisher(late.settings) as pub:
        for e in [*touches, order]:
            pub.publish(e)
    late.wait()
    [live] = late.rows(
        "SELECT path FROM journeys FINAL WHERE source = 'live' AND conversion_id = {id:UUID}", id=order["event_id"]
    )
    assert live["path"] == []  # nothing linked the order to its touches yet
    with Publisher(late.settings) as pub:
        for e in merges:
            pub.publish(e)
    late.wait()
    token = late.settings.admin_token.get_secret_value()  # type: ignore[union-attr]
    req = urllib.request.Request(
        f"http://127.0.0.1:{late.worker.port}/v1/attribution/run",
        data=orjson.dumps({"start": "2026-03-01T00:00:00+00:00", "end": "2026-03-04T00:00:00+00:00"}),
        headers={"Authorization": f"Bearer {token}"},
    )
    urllib.request.urlopen(req, timeout=120).read()
    [batch] = late.rows(
        "SELECT path, person_id FROM journeys FINAL WHERE source = 'batch' AND conversion_id = {id:UUID}",
        id=order["event_id"],
    )
    # the check-in that carried the merge is itself a second-screen touch, earlier than the rest
    assert batch["path"] == ["tv/second-screen", "web/paid-search", "social/instagram/organic", "tv/second-screen"]
    shown = explain(late.reader, "crm:crm-late")
    for ident in (
        "anon:ck-late-1",
        "anon:ck-late-2",
        "anon:ck-late-3",
        "device:dev-late-1",
        "social:instagram:late_ana",
        "crm:crm-late",
    ):
        assert ident in shown
    assert batch["person_id"] in shown


def _story(tag: str) -> tuple[list[dict[str, Any]], str]:
    """A customer's week, identifiers tagged apart: web, social and TV touches on three devices,
    the logins that join them, a store purchase by loyalty card between and an order at the end."""
    social = {"network": "instagram", "handle": f"ord_{tag}"}
    card = {"loyalty_id": f"card-{tag}"}
    events = [
        ev("page_view", "2026-03-02T09:00:00Z", {"anonymous_id": f"ck-{tag}-1"}, context={"utm_medium": "email"}),
        ev("like", "2026-03-02T12:00:00Z", {"social": social}, properties={"post_id": "p1", "network": "instagram"}),
        ev("login", "2026-03-02T12:05:00Z", {"anonymous_id": f"ck-{tag}-1", "user_id": f"crm-{tag}", **card}),
        ev(
            "pos_purchase",
            "2026-03-03T15:00:00Z",
            card,
            context={"store_id": "paris-01"},
            properties={"order_id": f"t-{tag}", "revenue": 80.0, "currency": "EUR"},
        ),
        ev(
            "qr_scan",
            "2026-03-03T20:31:00Z",
            {"device_id": f"dev-{tag}", "anonymous_id": f"ck-{tag}-2"},
            properties={"spot_id": "s1"},
        ),
        ev("login", "2026-03-04T08:00:00Z", {"anonymous_id": f"ck-{tag}-2", "user_id": f"crm-{tag}"}),
        ev("login", "2026-03-04T08:05:00Z", {"user_id": f"crm-{tag}", "social": social}),
        ev(
            "order_completed",
            "2026-03-04T10:00:00Z",
            {"anonymous_id": f"ck-{tag}-2"},
            properties={"order_id": f"o-{tag}", "revenue": 120.0, "currency": "EUR"},
        ),
    ]
    return events, f"crm:crm-{tag}"


def _credits(stack: Stack, ids: list[str]) -> list[tuple[Any, ...]]:
    rows = stack.rows(
        "SELECT toString(conversion_id) AS c, model, channel, round(credit, 6) AS credit FROM attribution_credits "
        "FINAL WHERE source = 'live' AND conversion_id IN {ids:Array(UUID)} AND credit != 0",
        ids=ids,
    )
    return sorted((ids.index(str(r["c"])), r["model"], r["channel"], r["credit"]) for r in rows)


def test_live_journeys_and_credits_are_the_same_in_order_and_out_of_order(late: Stack) -> None:
    """One story published in time order, the same story (identifiers tagged apart) in reverse,
    one event a batch: the live journeys and credits agree with each other and with a batch run."""
    forward, _ = _story("fw")
    backward, _ = _story("bw")
    with Publisher(late.settings) as pub:
        for e in forward:
            pub.publish(e)
    late.wait()
    for e in reversed(backward):
        with Publisher(late.settings) as pub:
            pub.publish(e)
        late.wait()
    conv = [i for i, e in enumerate(forward) if e["type"] in ("pos_purchase", "order_completed")]
    fw_ids = [forward[i]["event_id"] for i in conv]
    bw_ids = [backward[i]["event_id"] for i in conv]
    paths = {
        str(r["c"]): r["path"]
        for r in late.rows(
            "SELECT toString(conversion_id) AS c, path FROM journeys FINAL WHERE source = 'live' "
            "AND conversion_id IN {ids:Array(UUID)}",
            ids=fw_ids + bw_ids,
        )
    }
    assert [paths[i] for i in fw_ids] == [paths[i] for i in bw_ids]
    # the purchase by card reaches the e-mail visit and the like through the login that held the card
    assert paths[fw_ids[0]] == ["web/email", "social/instagram/organic"]
    assert paths[fw_ids[1]] == ["tv/second-screen"]  # the in-store sale reset the path before it
    forward_credits = _credits(late, fw_ids)
    assert forward_credits == _credits(late, bw_ids)
    assert {m for _, m, _, _ in forward_credits} >= {"linear", "first_touch", "last_touch"}
