"""The events table's columns as the worker builds them: names, order and Arrow types.

A leaf module: the normalizer, its native decoder and the store all build to this layout. The
types must match ``schemas/clickhouse/001_events.sql``; a test compares them with ``DESCRIBE TABLE``.
"""

from __future__ import annotations

import pyarrow as pa

# The columns, in the order ``Normalized.records`` holds them.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "type",
    "channel",
    "schema_version",
    "occurred_at",
    "sent_at",
    "received_at",
    "event_time",
    "late",
    "primary_identifier",
    "identifiers",
    "anonymous_id",
    "user_id",
    "email_hash",
    "phone_hash",
    "social_network",
    "social_handle",
    "device_id",
    "device_kind",
    "loyalty_id",
    "consent_analytics",
    "touch_channel",
    "is_conversion",
    "revenue",
    "cost",
    "currency",
    "order_id",
    "store_id",
    "fitting_room_id",
    "session_id",
    "sku",
    "skus",
    "post_id",
    "reply_to_id",
    "network",
    "spot_id",
    "tv_channel",
    "tv_programme",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "properties",
    "fingerprint",
    "ingested_at",
)


_TS = pa.timestamp("ms", tz="UTC")
_STR = pa.string()
_TYPES: dict[str, pa.DataType] = {
    "schema_version": pa.uint16(),
    "occurred_at": _TS,
    "sent_at": _TS,
    "received_at": _TS,
    "event_time": _TS,
    "ingested_at": _TS,
    "late": pa.uint8(),
    "consent_analytics": pa.uint8(),
    "is_conversion": pa.uint8(),
    "revenue": pa.float64(),
    "cost": pa.float64(),
    "identifiers": pa.list_(_STR),
    "fingerprint": pa.uint32(),
    "skus": pa.list_(_STR),
}
EVENTS_SCHEMA = pa.schema([pa.field(c, _TYPES.get(c, _STR), nullable=(c == "sent_at")) for c in EVENT_COLUMNS])
