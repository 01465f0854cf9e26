from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import parse_object
from streams.journeys.build import Conversion, PersonTimeline, Touch, build_journeys
from streams.journeys.taxonomy import Taxonomy
from tests.conftest import event

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ctx", "channel"),
    [
        ({"utm_medium": "cpc", "utm_source": "google"}, "web/paid-search"),
        ({"utm_medium": "email"}, "web/email"),
        ({"utm_medium": "paid_social", "utm_source": "instagram"}, "social/instagram/paid"),
        ({"referrer": "https://www.google.fr/search?q=x"}, "web/organic-search"),
        ({"referrer": "https://m.facebook.com/brand"}, "social/facebook/organic"),
        ({"referrer": "https://blog.example.net/post"}, "web/referral"),
        ({}, "direct"),
        ({"referrer": "https://shop.example.com/cart"}, ""),
    ],
)
def test_page_view_classification(ctx: dict[str, str], channel: str) -> None:
    ev = parse_object(event("page_view", context=ctx))
    assert Taxonomy().classify(ev) == channel


def test_other_types_and_conversions() -> None:
    tax = Taxonomy()
    assert tax.classify(parse_object(event("qr_scan"))) == "tv/second-screen"
    assert tax.classify(parse_object(event("like"))) == "social/instagram/organic"
    assert tax.classify(parse_object(event("fitting_room_entered"))) == "store/fitting-room"
    assert tax.classify(parse_object(event("item_tried"))) == ""
    order = parse_object(event("order_completed"))
    assert tax.is_conversion(order) and tax.classify(order) == ""


def test_user_configured_taxonomy() -> None:
    tax = Taxonomy(by_type={"item_tried": "store/try-on"}, conversion_types=frozenset({"add_to_cart"}))
    assert tax.classify(parse_object(event("item_tried"))) == "store/try-on"
    assert tax.is_conversion(parse_object(event("add_to_cart")))


def _tl(touches: list[tuple[int, str]], convs: list[int]) -> PersonTimeline:
    return PersonTimeline(
        "p1",
        [Touch(T0 + timedelta(days=d), ch, f"t{d}") for d, ch in touches],
        [Conversion(T0 + timedelta(days=d), f"c{d}", "order_completed", 10.0) for d in convs],
    )


def test_lookback_window_and_reset_after_conversion() -> None:
    tl = _tl([(0, "tv"), (35, "social"), (36, "web"), (38, "store"), (40, "web")], [37, 39])
    j = build_journeys(tl, lookback=timedelta(days=30))
    assert [x.path for x in j] == [("social", "web"), ("store",), ("web",)]
    assert [x.converted for x in j] == [True, True, False]


def test_conversion_without_touches_has_an_empty_path() -> None:
    [j] = build_journeys(_tl([], [3]), lookback=timedelta(days=30))
    assert j.path == () and j.converted


def test_late_touch_enters_the_right_journey_by_event_time() -> None:
    # touches arrive out of order; journeys are cut by event time, not arrival
    tl = _tl([(5, "web"), (1, "tv"), (3, "social")], [4])
    [j, rest] = build_journeys(tl, lookback=timedelta(days=30))
    assert j.path == ("tv", "social") and rest.path == ("web",)
