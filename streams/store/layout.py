"""The events table's row map: every column, its Arrow type, and where its value comes from.

Written once, as data, and read by everything that builds or checks an events row: the Arrow
schema (``EVENTS_SCHEMA``, compared with ``DESCRIBE TABLE`` by a test), the reference path's row
builder (``ingest.normalize``) and the native decoder (handed the map by ``ingest.spec``).

A column with ``sources`` is read from the event: dotted paths into the model (``context.x``,
``properties.y``), tried in order. ``first``: the first present value (for text, the first
non-empty one); ``sum``: the sum of the present values (0 when none). Absent everywhere: "" for
text, [] for lists, 0 for a ``first`` number (null when ``nullable``). ``personal`` columns are
identifiers, empty for an event without analytics consent. A column without sources is the
pipeline's own (times, identity, channel, the content digest): the stage that computes it fills it.

Adding a column read from events is a line here, the field in the model, and a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

_TS = pa.timestamp("ms", tz="UTC")
STR = pa.string()
F64 = pa.float64()
STR_LIST = pa.list_(STR)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: pa.DataType = STR
    sources: tuple[str, ...] = ()
    combine: Literal["first", "sum"] = "first"
    personal: bool = False
    nullable: bool = False

    @property
    def kind(self) -> str:
        """How the native decoder holds the column: "str", "f64" or "str_list"."""
        kinds = {STR: "str", F64: "f64", STR_LIST: "str_list"}
        if self.type not in kinds:
            raise TypeError(f"column {self.name}: a column read from events is text, float64 or a list of text")
        return kinds[self.type]


def _ids(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, sources=(f"identities.{n}",), personal=True) for n in names)


def _props(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, sources=(f"properties.{n}",)) for n in names)


EVENTS: tuple[Column, ...] = (
    Column("event_id", sources=("event_id",)),
    Column("type", sources=("type",)),
    Column("channel", sources=("channel",)),
    Column("schema_version", pa.uint16()),
    Column("occurred_at", _TS),
    Column("sent_at", _TS, nullable=True),
    Column("received_at", _TS),
    Column("event_time", _TS),
    Column("late", pa.uint8()),
    Column("primary_identifier"),
    Column("identifiers", STR_LIST),
    *_ids("anonymous_id", "user_id", "email_hash", "phone_hash"),
    Column("social_network", sources=("identities.social.network",), personal=True),
    Column("social_handle", sources=("identities.social.handle",), personal=True),
    *_ids("device_id"),
    Column("device_kind", sources=("context.device_kind",)),
    *_ids("loyalty_id"),
    Column("consent_analytics", pa.uint8()),
    Column("touch_channel"),
    Column("is_conversion", pa.uint8()),
    Column("revenue", F64, ("properties.revenue",)),
    Column("cost", F64, ("properties.cost", "properties.spend"), combine="sum"),
    *_props("currency", "order_id"),
    Column("store_id", sources=("context.store_id",)),
    Column("fitting_room_id", sources=("context.fitting_room_id",)),
    *_props("session_id", "sku"),
    Column("skus", STR_LIST, ("properties.skus",)),
    *_props("post_id"),
    Column("reply_to_id", sources=("properties.reply_to_id", "properties.question_id")),
    *_props("network"),
    Column("spot_id", sources=("properties.spot_id", "context.tv_spot_id")),
    *_props("tv_channel"),
    Column("tv_programme", sources=("properties.programme", "context.tv_programme")),
    Column("utm_source", sources=("context.utm_source",)),
    Column("utm_medium", sources=("context.utm_medium",)),
    Column("utm_campaign", sources=("context.utm_campaign", "properties.campaign")),
    Column("properties"),
    Column("fingerprint", pa.uint32()),
    Column("ingested_at", _TS),
)


def schema(columns: tuple[Column, ...] = EVENTS) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in columns])


EVENTS_SCHEMA = schema()
EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENTS)
