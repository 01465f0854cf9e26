"""Normalize a batch of raw payloads: validate → event time → dedupe → rows, links, dead letters.

Pure and synchronous: the Faust agent feeds it batches and stores what it returns, so the
same code is unit-tested, benchmarked and run in the stream. Bad input is a value
(a ``DeadLetter``), never an exception that stops the flow.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
import orjson
from pydantic import BaseModel

from schemas.events import Envelope, Reason, Rejection, fast, parse_event
from streams.identity.identifiers import extract
from streams.ingest.dedupe import DedupeWindow, Seen
from streams.ingest.eventtime import derive
from streams.ingest.pii import junk_hashes, scrub_payload
from streams.journeys.taxonomy import Taxonomy
from streams.settings import Settings


class RawItem(NamedTuple):  # one per event: a tuple is cheaper to build than a frozen dataclass
    payload: bytes
    source: str  # where it came from, unique per input: "raw.web/2/1234" or "collector/<uuid>/3"
    received_at: datetime  # our clock: collector arrival, or the Kafka record timestamp


@dataclass(frozen=True, slots=True)
class DeadLetter:
    dl_id: str
    reason: str
    detail: str
    source: str
    event_id: str
    payload: bytes
    received_at: datetime

    def row(self) -> dict[str, Any]:
        return {
            "dl_id": self.dl_id,
            "reason": self.reason,
            "detail": self.detail,
            "source": self.source,
            "event_id": self.event_id,
            "payload": self.payload.decode("utf-8", "replace"),
            "received_at": self.received_at.astimezone(UTC),
        }

    def message(self) -> bytes:
        """Dead-letter topic value; the payload travels as latin-1 text so any bytes round-trip."""
        return orjson.dumps(
            {
                "dl_id": self.dl_id,
                "reason": self.reason,
                "detail": self.detail,
                "source": self.source,
                "event_id": self.event_id,
                "payload": self.payload.decode("latin-1"),
                "received_at": self.received_at.isoformat(),
            }
        )

    @classmethod
    def from_message(cls, raw: bytes) -> DeadLetter:
        d = orjson.loads(raw)
        return cls(
            dl_id=d["dl_id"],
            reason=d["reason"],
            detail=d["detail"],
            source=d["source"],
            event_id=d["event_id"],
            payload=d["payload"].encode("latin-1"),
            received_at=datetime.fromisoformat(d["received_at"]),
        )


# The events table's columns, in the order ``Normalized.records`` holds them.
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
    "ingested_at",
)


@dataclass(slots=True)
class Normalized:
    # One tuple per stored event in EVENT_COLUMNS order: the hot path builds no dict per event
    # and the store turns the batch into columns in one pass (``store.columns``).
    records: list[tuple[Any, ...]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    # Where each record came from (raw item, scrubbed payload), to turn one into a dead letter
    # should storage refuse it (``Normalizer.quarantine``).
    origins: list[tuple[RawItem, bytes]] = field(default_factory=list)

    def extend(self, other: Normalized) -> None:
        """Append another slice's results (a batch normalized in slices)."""
        self.records += other.records
        self.dead += other.dead
        self.links += other.links
        self.duplicates += other.duplicates
        self.origins += other.origins

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The records as dicts, for readers that want names (tests, offline runs)."""
        return [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in self.records]


def _event_id_hint(payload: bytes) -> str:
    try:
        obj = orjson.loads(payload)
        v = obj.get("event_id") if isinstance(obj, dict) else None
        return str(v)[:64] if v is not None else ""
    except orjson.JSONDecodeError:
        return ""


def _fields(props: Any) -> dict[str, Any]:
    # Fields by name, read once: getattr is slow on the many names a given event type lacks.
    if isinstance(props, msgspec.Struct):
        return msgspec.structs.asdict(props)
    return props.__dict__ if isinstance(props, BaseModel) else {}


def _props_json(props: Any) -> str:
    if isinstance(props, msgspec.Struct):
        return fast.encode_properties(props)
    if isinstance(props, BaseModel):
        return props.model_dump_json()
    return orjson.dumps(props or {}).decode()  # loyalty_scan carries a free-form dict


def _uuid_key(event_id: UUID | str) -> int:
    # The fast path reads event ids as canonical text, pydantic as UUIDs.
    return event_id.int if isinstance(event_id, UUID) else int(event_id.replace("-", ""), 16)


class Normalizer:
    """``fast=False`` validates every event with pydantic; tests compare the two paths."""

    def __init__(self, settings: Settings, taxonomy: Taxonomy | None = None, *, fast: bool = True) -> None:
        self._s = settings
        self._fast = fast
        self._tax = taxonomy or Taxonomy(conversion_types=frozenset(settings.conversion_types))
        self._window = DedupeWindow(settings.dedupe_window)
        self._pepper = settings.pii_pepper.get_secret_value()
        self._junk = junk_hashes(self._pepper)
        self._max_skew = timedelta(seconds=settings.max_skew_s)
        self._future = timedelta(seconds=settings.future_tolerance_s)
        self._late = timedelta(seconds=settings.late_allowance_s)
        self._conversion_types = self._tax.conversion_types

    def normalize(self, items: Iterable[RawItem]) -> Normalized:
        out = Normalized()
        now = datetime.now(UTC)
        for item in items:
            payload = scrub_payload(item.payload, self._pepper)
            try:
                self._one(item, payload, now, out)
            except Rejection as rej:
                out.dead.append(self._dead(item, payload, rej.reason.value, rej.detail))
            except Exception as err:  # noqa: BLE001 — one bad record must not stop the stream
                # A bug, not bad input: keep the event as a dead letter that says what failed.
                out.dead.append(self._dead(item, payload, Reason.PROCESSING_ERROR.value, repr(err)[:500]))
        return out

    def _dead(self, item: RawItem, payload: bytes, reason: str, detail: str) -> DeadLetter:
        return DeadLetter(
            dl_id=item.source,
            reason=reason,
            detail=detail,
            source=item.source,
            event_id=_event_id_hint(payload),
            payload=payload,
            received_at=item.received_at,
        )

    def _one(self, item: RawItem, payload: bytes, now: datetime, out: Normalized) -> None:
        # The fast decoder steps aside (None) for anything pydantic must judge: refusals included.
        event = (fast.decode(payload) if self._fast else None) or parse_event(payload)
        # Each operation on pydantic's parsed datetimes calls its tzinfo back (~0.4 µs); in UTC
        # once, the arithmetic below, the record and the Arrow column are plain C.
        occurred = event.occurred_at.astimezone(UTC)
        sent = event.sent_at
        if sent is not None:
            sent = sent.astimezone(UTC)
        received = event.received_at.astimezone(UTC) if event.received_at else item.received_at
        et = derive(
            occurred,
            sent,
            received,
            max_skew=self._max_skew,
            future_tolerance=self._future,
            late_allowance=self._late,
        )
        # The body as sent identifies a retry: the edge keeps arrival times out of the payload.
        seen = self._window.check(_uuid_key(event.event_id), zlib.crc32(payload))
        if seen is Seen.DUPLICATE:
            out.duplicates += 1
            return
        if seen is Seen.CONFLICT:
            raise Rejection(
                Reason.CONFLICTING_DUPLICATE, f"event_id: {event.event_id} was already used by a different event"
            )
        self._emit(event, occurred, sent, received, et.value, et.late, now, out, (item, payload))

    def quarantine(self, out: Normalized, indices: Iterable[int], detail: str) -> None:
        """Move records the store cannot take to dead letters (``processing_error``), in place."""
        bad = set(indices)
        if not bad:
            return
        ids = {out.records[i][0] for i in bad}
        for i in sorted(bad):
            item, payload = out.origins[i]
            out.dead.append(self._dead(item, payload, Reason.PROCESSING_ERROR.value, detail[:500]))
        keep = [i for i in range(len(out.records)) if i not in bad]
        out.records = [out.records[i] for i in keep]
        out.origins = [out.origins[i] for i in keep]
        out.links = [link for link in out.links if link["event_id"] not in ids]

    def _emit(
        self,
        e: Envelope | fast.FastEvent,
        occurred: datetime,
        sent_at: datetime | None,
        received: datetime,
        event_time: datetime,
        late: bool,
        now: datetime,
        out: Normalized,
        origin: tuple[RawItem, bytes],
    ) -> None:
        ids = e.identities
        consent = e.consent.analytics
        # Without analytics consent the event is kept for aggregates only: no identifiers.
        ex = extract(e, junk_hashes=self._junk) if consent else None
        identifiers = list(ex.identifiers) if ex else []
        props = e.properties  # type: ignore[union-attr]  # every event type has properties
        p = _fields(props)
        ctx = e.context
        etype = e.type
        is_conv = etype in self._conversion_types
        social = ids.social if consent else None
        event_id = str(e.event_id)
        out.records.append(
            (
                event_id,
                etype,
                e.channel,
                e.schema_version,
                occurred,
                sent_at,
                received if received.tzinfo is UTC else received.astimezone(UTC),
                event_time,
                int(late),
                identifiers[0] if identifiers else "",
                identifiers,
                (ids.anonymous_id or "") if consent else "",
                (ids.user_id or "") if consent else "",
                (ids.email_hash or "") if consent else "",
                (ids.phone_hash or "") if consent else "",
                social.network if social else "",
                social.handle if social else "",
                (ids.device_id or "") if consent else "",
                ctx.device_kind or "",
                (ids.loyalty_id or "") if consent else "",
                int(consent),
                "" if is_conv else self._tax.classify(e),
                int(is_conv),
                float(p.get("revenue") or 0.0),
                float(p.get("cost") or 0.0) + float(p.get("spend") or 0.0),
                p.get("currency") or "",
                p.get("order_id") or "",
                ctx.store_id or "",
                ctx.fitting_room_id or "",
                p.get("session_id") or "",
                p.get("sku") or "",
                list(p.get("skus") or ()),
                p.get("post_id") or "",
                p.get("reply_to_id") or p.get("question_id") or "",
                p.get("network") or "",
                p.get("spot_id") or ctx.tv_spot_id or "",
                p.get("tv_channel") or "",
                p.get("programme") or ctx.tv_programme or "",
                ctx.utm_source or "",
                ctx.utm_medium or "",
                ctx.utm_campaign or p.get("campaign") or "",
                _props_json(props),
                now,
            )
        )
        out.origins.append(origin)
        if ex and (len(identifiers) > 1 or ex.refused or is_conv):
            out.links.append(
                {
                    "event_id": event_id,
                    "identifiers": identifiers,
                    "refused": [list(r) for r in ex.refused],
                    "verified_crm": ex.verified_crm,
                    "event_time": event_time.isoformat(),
                    "conversion": is_conv,
                }
            )
