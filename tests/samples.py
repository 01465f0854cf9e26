"""One valid example per event type (tests build on these)."""

from __future__ import annotations

from typing import Any

T = "2026-03-02T10:00:00+01:00"
MIRROR = {"store_id": "paris-01", "fitting_room_id": "fr-1", "device_kind": "mirror"}

SAMPLES: dict[str, dict[str, Any]] = {
    # web
    "page_view": {
        "type": "page_view",
        "occurred_at": T,
        "identities": {"anonymous_id": "ck-abc123"},
        "context": {"page_url": "https://shop.example.com/", "utm_medium": "cpc", "utm_source": "google"},
    },
    "product_view": {
        "type": "product_view",
        "occurred_at": T,
        "identities": {"anonymous_id": "ck-abc123"},
        "properties": {"sku": "sku-1", "price": 10.0, "currency": "EUR"},
    },
    "search": {"type": "search", "occurred_at": T, "properties": {"query": "red jacket"}},
    "add_to_cart": {"type": "add_to_cart", "occurred_at": T, "properties": {"sku": "sku-1", "quantity": 2}},
    "checkout_started": {
        "type": "checkout_started",
        "occurred_at": T,
        "properties": {"cart_value": 20.0, "currency": "EUR"},
    },
    "order_completed": {
        "type": "order_completed",
        "occurred_at": T,
        "identities": {"anonymous_id": "ck-abc123", "user_id": "crm-77"},
        "properties": {"order_id": "o-1", "revenue": 99.5, "currency": "EUR", "skus": ["sku-1"]},
    },
    "signup": {"type": "signup", "occurred_at": T, "identities": {"user_id": "crm-77"}},
    "login": {
        "type": "login",
        "occurred_at": T,
        "identities": {"anonymous_id": "ck-abc123", "user_id": "crm-77", "crm_verified": True},
    },
    # social
    "post_published": {
        "type": "post_published",
        "occurred_at": T,
        "properties": {"post_id": "p1", "network": "instagram", "paid": True, "spend": 100.0, "currency": "EUR"},
    },
    "like": {
        "type": "like",
        "occurred_at": T,
        "identities": {"social": {"network": "instagram", "handle": "ana_b"}},
        "properties": {"post_id": "p1", "network": "instagram"},
    },
    "comment": {
        "type": "comment",
        "occurred_at": T,
        "properties": {"post_id": "p1", "network": "instagram", "comment_id": "c1", "text": "nice"},
    },
    "share": {"type": "share", "occurred_at": T, "properties": {"post_id": "p1", "network": "facebook"}},
    "mention": {"type": "mention", "occurred_at": T, "properties": {"network": "x", "text": "@brand"}},
    "follow": {"type": "follow", "occurred_at": T, "properties": {"network": "tiktok"}},
    "question": {
        "type": "question",
        "occurred_at": T,
        "properties": {"question_id": "q1", "network": "facebook", "text": "size M?"},
    },
    "brand_reply": {
        "type": "brand_reply",
        "occurred_at": T,
        "properties": {"reply_id": "r1", "reply_to_id": "q1", "network": "facebook", "text": "yes"},
    },
    # tv
    "spot_aired": {
        "type": "spot_aired",
        "occurred_at": T,
        "properties": {"spot_id": "s1", "tv_channel": "tf1", "programme": "news", "cost": 12000, "currency": "EUR"},
    },
    "second_screen_checkin": {
        "type": "second_screen_checkin",
        "occurred_at": T,
        "identities": {"device_id": "dev-1"},
        "properties": {"spot_id": "s1"},
    },
    "qr_scan": {
        "type": "qr_scan",
        "occurred_at": T,
        "identities": {"device_id": "dev-1"},
        "properties": {"spot_id": "s1"},
    },
    "synced_interaction": {"type": "synced_interaction", "occurred_at": T, "properties": {"interaction": "poll"}},
    # store
    "store_visit": {"type": "store_visit", "occurred_at": T, "context": {"store_id": "paris-01"}},
    "fitting_room_entered": {
        "type": "fitting_room_entered",
        "occurred_at": T,
        "context": MIRROR,
        "properties": {"session_id": "fs1"},
    },
    "item_tried": {
        "type": "item_tried",
        "occurred_at": T,
        "context": MIRROR,
        "properties": {"session_id": "fs1", "sku": "sku-1", "rfid_tag": "e200"},
    },
    "mirror_interaction": {
        "type": "mirror_interaction",
        "occurred_at": T,
        "context": MIRROR,
        "properties": {"session_id": "fs1", "action": "browse_sizes"},
    },
    "look_shared": {
        "type": "look_shared",
        "occurred_at": T,
        "context": MIRROR,
        "properties": {"session_id": "fs1", "look_id": "l1", "network": "instagram", "skus": ["sku-1"]},
    },
    "assistance_requested": {
        "type": "assistance_requested",
        "occurred_at": T,
        "context": MIRROR,
        "properties": {"request_id": "a1"},
    },
    "assistance_answered": {
        "type": "assistance_answered",
        "occurred_at": T,
        "context": {"store_id": "paris-01"},
        "properties": {"request_id": "a1"},
    },
    "loyalty_scan": {
        "type": "loyalty_scan",
        "occurred_at": T,
        "context": MIRROR,
        "identities": {"loyalty_id": "loy-9"},
    },
    "pos_purchase": {
        "type": "pos_purchase",
        "occurred_at": T,
        "context": {"store_id": "paris-01", "device_kind": "pos"},
        "identities": {"loyalty_id": "loy-9"},
        "properties": {"order_id": "o-2", "revenue": 45.0, "currency": "EUR", "terminal_id": "t1"},
    },
}

# One invalid variant per type, with the field the error must name.
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "product_view": ({"properties": {"price": 10.0}}, "properties.sku"),
    "search": ({"properties": {}}, "properties.query"),
    "add_to_cart": ({"properties": {"sku": "s", "quantity": 0}}, "properties.quantity"),
    "checkout_started": ({"properties": {"cart_value": 1, "currency": "euro"}}, "properties.currency"),
    "order_completed": ({"properties": {"order_id": "o", "revenue": -5, "currency": "EUR"}}, "properties.revenue"),
    "signup": ({"properties": {"method": "carrier-pigeon"}}, "properties.method"),
    "login": ({"identities": {"email_hash": "someone@example.org"}}, "identities.email_hash"),
    "page_view": ({"occurred_at": "2026-03-02T10:00:00"}, "occurred_at"),
    "post_published": ({"properties": {"post_id": "p", "network": "myspace"}}, "properties.network"),
    "like": ({"properties": {"network": "instagram"}}, "properties.post_id"),
    "comment": ({"properties": {"post_id": "p", "network": "x", "comment_id": "c"}}, "properties.text"),
    "share": ({"properties": {"post_id": "", "network": "x"}}, "properties.post_id"),
    "mention": ({"properties": {}}, "properties.network"),
    "follow": ({"properties": {"network": 3}}, "properties.network"),
    "question": ({"properties": {"question_id": "q", "network": "x"}}, "properties.text"),
    "brand_reply": ({"properties": {"reply_id": "r", "network": "x", "text": "t"}}, "properties.reply_to_id"),
    "spot_aired": (
        {"properties": {"spot_id": "s", "tv_channel": "c", "programme": "p", "cost": "lots", "currency": "EUR"}},
        "properties.cost",
    ),
    "second_screen_checkin": ({"event_id": "not-a-uuid"}, "event_id"),
    "qr_scan": ({"properties": {}}, "properties.spot_id"),
    "synced_interaction": ({"properties": {"interaction": "dance"}}, "properties.interaction"),
    "store_visit": ({"context": {}}, "store_id"),
    "fitting_room_entered": ({"properties": {}}, "properties.session_id"),
    "item_tried": ({"properties": {"session_id": "s"}}, "properties.sku"),
    "mirror_interaction": ({"properties": {"session_id": "s", "action": "teleport"}}, "properties.action"),
    "look_shared": (
        {"properties": {"session_id": "s", "look_id": "l", "network": "x", "skus": "sku"}},
        "properties.skus",
    ),
    "assistance_requested": ({"properties": {}}, "properties.request_id"),
    "assistance_answered": ({"properties": {"request_id": None}}, "properties.request_id"),
    "loyalty_scan": ({"channel": "web"}, "channel"),
    "pos_purchase": (
        {"properties": {"order_id": "o", "revenue": 1, "currency": "EUR", "skus": [""]}},
        "properties.skus.0",
    ),
}
