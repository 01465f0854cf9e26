"""Normalize a batch of raw payloads: validate → event time → dedupe → rows, links, dead letters.

Pure and synchronous: the ingest stage (``ingest.stage``) feeds it batches and stores what it
returns, so the same code is unit-tested, benchmarked and run in the stream. Bad input is a value
(a ``DeadLetter``), never an exception that stops the flow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast
from uuid import UUID

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from schemas.events import Envelope, InvalidEvent, Reason, parse_event
from streams import native as native_module
from streams.identity.identifiers import Extracted, extract
from streams.identity.links import Links
from streams.identity.pii import SCRUB_TRIGGERS, junk_hashes, scrub_payload
from streams.ingest.decoder import STEP_ASIDE_TRIGGERS, Decoded, NativeDecoder
from streams.ingest.dedupe import DedupeWindow, Seen, pack
from streams.ingest.eventtime import derive
from streams.ingest.fingerprint import content_digest
from streams.journeys.taxonomy import Taxonomy
from streams.settings import Settings
from streams.store.layout import EVENT_COLUMNS, EVENTS, Column, schema

log = logging.getLogger("parcours")


class RawItem(NamedTuple):  # one per event: a tuple is cheaper to build than a frozen dataclass
    payload: bytes
    source: str  # where it came from, unique per input: "raw.web/2/1234" or "collector/<uuid>/3"
    received_at: datetime  # our clock: collector arrival, or the Kafka record timestamp


class RawBatch:
    """Raw records as the decoder reads them — payloads, and arrival times in µs since the epoch —
    with a record's ``RawItem`` built only when one is needed (the reference path, a dead letter):
    one per record showed in the worker loop's profile. ``source(i)`` names record ``i``."""

    __slots__ = ("_items", "_source", "arrived_us", "payloads")

    def __init__(self, payloads: list[bytes], arrived_us: list[int], source: Callable[[int], str]) -> None:
        self.payloads = payloads
        self.arrived_us = arrived_us
        self._source = source
        self._items: Sequence[RawItem] | None = None

    @classmethod
    def of(cls, items: Sequence[RawItem]) -> RawBatch:
        # Items at hand: ``__getitem__`` returns them, so no source is ever spelled out (``str``).
        batch = cls([i.payload for i in items], [(i.received_at - _EPOCH) // _US for i in items], str)
        batch._items = items
        return batch

    def __len__(self) -> int:
        return len(self.payloads)

    def section(self, start: int, stop: int) -> RawBatch:
        """Records ``start`` to ``stop``, their sources still named by the whole batch's positions."""
        source = self._source
        part = RawBatch(self.payloads[start:stop], self.arrived_us[start:stop], lambda i: source(start + i))
        if self._items is not None:
            part._items = self._items[start:stop]
        return part

    def __getitem__(self, i: int) -> RawItem:
        if self._items is not None:
            return self._items[i]
        return RawItem(self.payloads[i], self._source(i), _EPOCH + self.arrived_us[i] * _US)


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


# The row map's columns the pipeline fills itself (no sources): ``_emit`` and ``_emit_native``.
_DERIVED = frozenset(
    {
        "schema_version",
        "occurred_at",
        "sent_at",
        "received_at",
        "event_time",
        "late",
        "primary_identifier",
        "identifiers",
        "consent_analytics",
        "touch_channel",
        "is_conversion",
        "properties",
        "fingerprint",
        "ingested_at",
    }
)
_NEW, _DUPLICATE, _CONFLICT = Seen.NEW.value, Seen.DUPLICATE.value, Seen.CONFLICT.value
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MS = timedelta(milliseconds=1)
_EXTRACTED_CACHE = 1 << 16  # identities → their identifiers; cleared when full


@dataclass(slots=True)
class Normalized:
    # One list per column, in the row map's order (``names``): the batch is built column by column,
    # far cheaper than a tuple per event, and each list becomes one Arrow array (``ingest.columns``).
    columns: list[list[Any]] = field(default_factory=list)
    # Events the native decoder read: tables in the row map's schema, stored beside ``columns``.
    native: list[pa.Table] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    links: Links = field(default_factory=Links)
    duplicates: int = 0
    # Where each record came from (raw item, scrubbed payload), to turn one into a dead letter
    # should storage refuse it (``Normalizer.quarantine``).
    origins: list[tuple[RawItem, bytes]] = field(default_factory=list)
    names: tuple[str, ...] = EVENT_COLUMNS

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = [[] for _ in self.names]

    def __len__(self) -> int:
        """Events kept (stored rows)."""
        return len(self.columns[0]) + sum(int(t.num_rows) for t in self.native)

    def extend(self, other: Normalized) -> None:
        """Append another slice's results (a batch normalized in slices)."""
        for mine, theirs in zip(self.columns, other.columns, strict=True):
            mine += theirs
        self.native += other.native
        self.dead += other.dead
        self.links.extend(other.links)
        self.duplicates += other.duplicates
        self.origins += other.origins

    def column(self, name: str) -> list[Any]:
        """The column's values: the reference path's list itself when the native decoder read none."""
        mine = self.columns[self.names.index(name)]
        if not self.native:
            return mine
        return mine + [_utc(v) for t in self.native for v in t.column(name).to_pylist()]

    @property
    def records(self) -> list[tuple[Any, ...]]:
        """One tuple per event, in the row map's order (readers that go row by row): the reference
        path's first, then the native decoder's (times in milliseconds, as stored)."""
        native = [tuple(_utc(v) for v in r.values()) for t in self.native for r in t.to_pylist()]
        return list(zip(*self.columns, strict=True)) + native

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The records as dicts, for readers that want names (tests, offline runs)."""
        return [dict(zip(self.names, r, strict=True)) for r in self.records]


def _utc(v: Any) -> Any:
    # Arrow hands timestamps back with ZoneInfo("UTC"); the rest of the worker uses datetime's UTC.
    return v.replace(tzinfo=UTC) if isinstance(v, datetime) else v


class _Kept(NamedTuple):  # an event past validation, time and dedupe, waiting for its columns
    event: Envelope
    occurred: datetime
    sent: datetime | None
    received: datetime
    event_time: datetime
    late: bool
    origin: tuple[RawItem, bytes]
    digest: int  # the content's (``fingerprint``): the dedupe window's and the stored fingerprint


# One RE2 pass over a batch finds the payloads the PII scrub could change or the native decoder
# would step aside for; the rest, nearly all, skip both tests.
_SCREEN = f"{SCRUB_TRIGGERS}|{STEP_ASIDE_TRIGGERS}"


def _flagged(payloads: list[bytes]) -> list[bool]:
    if not payloads:
        return []
    # 64-bit offsets: a slice of oversized payloads (refused later, one by one) must not overflow.
    found = pc.match_substring_regex(pa.array(payloads, pa.large_binary()), _SCREEN)
    return cast(list[bool], found.to_pylist())


def _event_id_hint(payload: bytes) -> str:
    try:
        obj = orjson.loads(payload)
        v = obj.get("event_id") if isinstance(obj, dict) else None
        return str(v)[:64] if v is not None else ""
    except orjson.JSONDecodeError:
        return ""


def _at(event: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a model, None where absent; a free-form dict is not read (as the
    native decoder does not)."""
    value = event
    for name in path:
        if not isinstance(value, BaseModel):
            return None
        value = value.__dict__.get(name)  # pydantic's __getattr__ is slow on names a model lacks
        if value is None:
            return None
    return value


def _column(c: Column, paths: list[tuple[str, ...]], events: list[Envelope], consent: list[bool]) -> list[Any]:
    """A row-map column read from events (``store.layout`` says how)."""
    kind, none = c.kind, None if c.nullable else 0.0
    out: list[Any] = []
    for e, ok in zip(events, consent, strict=True):
        values = [v for v in (_at(e, p) for p in paths) if v is not None] if ok or not c.personal else []
        if kind == "str":
            out.append(next((str(v) for v in values if v != ""), ""))
        elif kind == "str_list":
            out.append(list(values[0]) if values else [])
        elif c.combine == "sum":
            total = 0.0
            for v in values:
                total += float(v)
            out.append(total)
        else:
            out.append(float(values[0]) if values else none)
    return out


def _props_json(props: Any) -> str:
    if isinstance(props, BaseModel):
        return props.model_dump_json()
    return orjson.dumps(props or {}).decode()  # loyalty_scan carries a free-form dict


def _uuid_key(event_id: UUID | str) -> int:
    return event_id.int if isinstance(event_id, UUID) else int(event_id.replace("-", ""), 16)


class Normalizer:
    """Two readers of a payload: the native decoder (``streams.ingest.decoder``, a batch at a
    time), and pydantic, the reference, for whatever the decoder steps aside on; it also names
    every refusal. ``native=False``: pydantic alone. Tests compare the paths. ``columns``: the
    row map (``store.layout.EVENTS``)."""

    def __init__(
        self,
        settings: Settings,
        taxonomy: Taxonomy | None = None,
        *,
        native: bool = True,
        columns: tuple[Column, ...] = EVENTS,
    ) -> None:
        self._s = settings
        self.columns = columns
        self.schema = schema(columns)
        self.names = tuple(c.name for c in columns)
        unknown = [c.name for c in columns if not c.sources and c.name not in _DERIVED]
        if unknown:  # a column nobody fills: say so at start-up, not as a dead letter per event
            raise TypeError(f"row map: {unknown} have no sources and are none of the pipeline's own columns")
        self._mapped = [(c, [tuple(p.split(".")) for p in c.sources]) for c in columns if c.sources]
        self._tax = taxonomy or Taxonomy(conversion_types=frozenset(settings.conversion_types))
        self._window = DedupeWindow(settings.dedupe_window)
        self._pepper = settings.pepper()
        self._digest_key = self._pepper.encode()
        self._junk = junk_hashes(self._pepper)
        self._max_skew = timedelta(seconds=settings.max_skew_s)
        self._future = timedelta(seconds=settings.future_tolerance_s)
        self._late = timedelta(seconds=settings.late_allowance_s)
        self._conversion_types = self._tax.conversion_types
        self._extracted: dict[Any, Extracted] = {}
        self._native: NativeDecoder | None = None
        if native:
            if native_module.AVAILABLE:
                self._native = NativeDecoder(settings, screen=_SCREEN, columns=columns)
            else:
                log.warning("the native decoder is not built; every event takes the Python path (slower)")

    def normalize(self, items: RawBatch | Iterable[RawItem]) -> Normalized:
        """A batch's rows, links, dead letters; batches in input order (the dedupe window's)."""
        batch = items if isinstance(items, RawBatch) else RawBatch.of(list(items))
        decoded = self._decode_native(batch)
        out = Normalized(names=self.names)
        # The native decoder screens the raw payloads itself and leaves the flagged ones (to scrub).
        if decoded is not None:
            flagged, native = decoded.flagged.tolist(), decoded.native.tolist()
        else:
            flagged, native = _flagged(batch.payloads), [False] * len(batch)
        payloads = list(batch.payloads)
        for i in np.flatnonzero(flagged).tolist():
            payloads[i] = scrub_payload(payloads[i], self._pepper)
        aside = [i for i, n in enumerate(native) if not n]
        # The reference path: read, checked and timed here; the dedupe window comes next, for all.
        dead: list[tuple[int, DeadLetter]] = []  # with their input positions: dead letters keep input order
        candidates: list[tuple[int, _Kept]] = []
        for i in aside:
            item, payload = batch[i], payloads[i]
            try:
                candidates.append((i, self._timed(item, payload, parse_event(payload))))
            except InvalidEvent as rej:
                dead.append((i, self._dead(item, payload, rej.reason.value, rej.detail)))
            except Exception as err:  # noqa: BLE001 — one bad record must not stop the stream
                dead.append((i, self._bug(item, payload, err)))
        native_at = np.flatnonzero(native)  # input position of each native row
        native_seen, seen = self._dedupe(decoded, native_at, candidates)
        kept: list[_Kept] = []
        for (i, k), status in zip(candidates, seen, strict=True):
            if status == _NEW:
                kept.append(k)
            elif status == _DUPLICATE:
                out.duplicates += 1
            else:
                dead.append((i, self._conflict(k.origin[0], k.origin[1], str(k.event.event_id))))
        rows = np.flatnonzero(native_seen == _NEW).tolist()  # native rows kept
        out.duplicates += int(np.count_nonzero(native_seen == _DUPLICATE))
        if decoded is not None:
            for row in np.flatnonzero(native_seen == _CONFLICT).tolist():
                i = int(native_at[row])
                key = int.from_bytes(decoded.keys[16 * row : 16 * row + 16], "little")
                dead.append((i, self._conflict(batch[i], payloads[i], str(UUID(int=key)))))
        dead.sort(key=lambda d: d[0])
        out.dead += [d for _, d in dead]
        now = datetime.now(UTC)
        try:
            self._emit(kept, now, out)
        except Exception:  # noqa: BLE001 — find the record that fails, keep the others
            out.columns, out.links, out.origins = [[] for _ in self.names], Links(), []
            for k in kept:
                try:
                    self._emit([k], now, out)
                except Exception as err:  # noqa: BLE001
                    out.dead.append(self._bug(*k.origin, err))
        if decoded is not None and rows:
            try:
                self._emit_native(decoded, rows, now, out)
            except Exception as err:
                log.exception("native rows failed; %d events become dead letters", len(rows))
                out.dead += [self._bug(batch[native_at[r]], payloads[native_at[r]], err) for r in rows]
        return out

    def _decode_native(self, batch: RawBatch) -> Decoded | None:
        if self._native is None or not len(batch):
            return None
        try:
            return self._native.decode(batch.payloads, batch.arrived_us)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # a Rust panic arrives as pyo3's PanicException, a BaseException
            log.exception("native decoder failed on a batch; reading it in Python")
            return None

    def _emit_native(self, d: Decoded, rows: list[int], now: datetime, out: Normalized) -> None:
        """The native rows kept by the dedupe window: their table, with the columns Python
        decides once per distinct value (identifiers, channel), and their identity links."""
        take = pa.array(rows, pa.int32())
        g = d.id_group[rows]
        c = d.cls_group[rows]
        conversions = self._conversion_types
        conv = [t in conversions for t, *_ in d.cls_groups]
        classify = self._tax.classify_values
        channels = [
            "" if is_conv else classify(t, network=pn or sn or "", utm_medium=um, utm_source=us, referrer=ref)
            for (t, pn, sn, um, us, ref), is_conv in zip(d.cls_groups, conv, strict=True)
        ]
        # Group -1 (no analytics consent) reads the extra last entry: no identifiers.
        gidx = np.where(g < 0, len(d.id_groups), g)
        gi = pa.array(gidx, pa.int32())
        ci = pa.array(c, pa.int32())
        arrays = dict(d.arrays) if len(rows) == len(d) else {name: a.take(take) for name, a in d.arrays.items()}
        arrays["identifiers"] = d.group_identifiers.take(gi)
        arrays["primary_identifier"] = d.group_primary.take(gi)
        arrays["touch_channel"] = pa.array(channels, pa.string()).take(ci)
        arrays["is_conversion"] = pa.array([int(x) for x in conv], pa.uint8()).take(ci)
        stamp = np.full(len(rows), (now - _EPOCH) // _MS, np.int64)
        arrays["ingested_at"] = pa.Array.from_buffers(
            self.schema.field("ingested_at").type, len(rows), [None, pa.py_buffer(stamp)]
        )
        arrays["fingerprint"] = pa.array(np.frombuffer(d.digests, "<u4")[rows], pa.uint32())
        table = pa.Table.from_arrays([arrays[n] for n in self.names], schema=self.schema)

        # Links, as ``_emit`` makes them: events with several identifiers, a refusal, a conversion or
        # a touch (a touch that arrives after a conversion it precedes changes that conversion's path).
        linked_group = d.group_linked
        conv_class = np.array(conv, bool)
        linked_class = conv_class | np.array([bool(ch) for ch in channels], bool)
        wanted = np.flatnonzero((g >= 0) & (linked_group[gidx] | linked_class[c]))
        rows_np = np.asarray(rows)[wanted]
        used, group = np.unique(g[wanted], return_inverse=True)
        out.links.extend(
            Links(
                [d.group(u) for u in used.tolist()],
                group.tolist(),
                d.arrays["event_id"].take(pa.array(rows_np, pa.int32())).to_pylist(),
                d.event_time_us[rows_np].tolist(),
                conv_class[c[wanted]].tolist(),
            )
        )
        out.native.append(table)

    def _bug(self, item: RawItem, payload: bytes, err: Exception) -> DeadLetter:
        # A bug, not bad input: keep the event as a dead letter that says what failed.
        return self._dead(item, payload, Reason.PROCESSING_ERROR.value, repr(err)[:500])

    def _dead(self, item: RawItem, payload: bytes, reason: str, detail: str) -> DeadLetter:
        # Every dead letter gets the edge's full rules (phones in free text, any key's case), not
        # only what the batch screen flagged: dead letters are few, and they keep the payload.
        payload = scrub_payload(payload, self._pepper, screened=False)
        return DeadLetter(
            dl_id=item.source,
            reason=reason,
            detail=detail,
            source=item.source,
            event_id=_event_id_hint(payload),
            payload=payload,
            received_at=item.received_at,
        )

    def _timed(self, item: RawItem, payload: bytes, event: Envelope) -> _Kept:
        """The event with its times; raises ``InvalidEvent``."""
        # Each operation on pydantic's parsed datetimes calls its tzinfo back; in UTC
        # once, the arithmetic below, the record and the Arrow column are plain C.
        occurred = event.occurred_at.astimezone(UTC)
        sent = event.sent_at
        if sent is not None:
            sent = sent.astimezone(UTC)
        received = event.received_at.astimezone(UTC) if event.received_at else item.received_at
        if received.tzinfo is not UTC:
            received = received.astimezone(UTC)
        et = derive(
            occurred,
            sent,
            received,
            max_skew=self._max_skew,
            future_tolerance=self._future,
            late_allowance=self._late,
        )
        return _Kept(
            event,
            occurred,
            sent,
            received,
            et.value,
            et.late,
            (item, payload),
            content_digest(payload, self._digest_key),
        )

    def _dedupe(
        self, decoded: Decoded | None, native_at: np.ndarray, candidates: list[tuple[int, _Kept]]
    ) -> tuple[np.ndarray, list[int]]:
        """The window's verdict (``Seen`` values) on the native rows and on the reference path's
        events, checked in input order. A retry is the same id with the same body as sent (the
        edge keeps arrival times out of the payload): the digest is the content's (``fingerprint``)."""
        keys, digests = pack([_uuid_key(k.event.event_id) for _, k in candidates], [k.digest for _, k in candidates])
        if decoded is None or not len(native_at):
            return np.zeros(0, np.uint8), list(self._window.check_many(keys, digests))
        if not candidates:
            return np.frombuffer(self._window.check_many(decoded.keys, decoded.digests), np.uint8), []
        # Both kinds in one batch: merge them into input order, check, and split the verdicts back.
        at = np.concatenate([native_at, np.array([i for i, _ in candidates])])
        order = np.argsort(at, kind="stable")
        key_rows = np.concatenate([np.frombuffer(decoded.keys, "V16"), np.frombuffer(keys, "V16")])
        digest_rows = np.concatenate([np.frombuffer(decoded.digests, "<u4"), np.frombuffer(digests, "<u4")])
        verdict = np.empty(len(at), np.uint8)
        verdict[order] = np.frombuffer(
            self._window.check_many(key_rows[order].tobytes(), digest_rows[order].tobytes()), np.uint8
        )
        return verdict[: len(native_at)], verdict[len(native_at) :].tolist()

    def refuse_stored_conflicts(self, batch: RawBatch, out: Normalized, stored: Mapping[str, int]) -> None:
        """Copies in ``out`` of events the store holds with another content (``stored``: event id →
        the stored fingerprint): their links go, each becomes a dead letter, and the window takes
        the stored fingerprint. A copy the window refused against the refused one, but that matches
        what is stored, was a retry: its dead letter goes (counted as a duplicate)."""
        if not stored:
            return
        out.links = out.links.without(set(stored))
        kept = []
        for d in out.dead:
            if d.reason == Reason.CONFLICTING_DUPLICATE.value and stored.get(d.event_id) == content_digest(
                d.payload, self._digest_key
            ):
                out.duplicates += 1
            else:
                kept.append(d)
        out.dead = kept
        # each refused copy's own payload: one pass over the batch, the id in any case
        alternatives = b"|".join(re.escape(e.encode()) for e in sorted(stored))
        ids = re.compile(rb'"event_id"\s*:\s*"(' + alternatives + rb')"', re.IGNORECASE)
        at: dict[str, int] = {}
        for i, payload in enumerate(batch.payloads):
            hit = ids.search(payload)
            if hit:
                at.setdefault(hit.group(1).decode().lower(), i)
        for event_id in sorted(stored):
            item = batch[at.get(event_id, 0)]
            out.dead.append(self._conflict(item, item.payload, event_id))
        self._window.remember(*pack([_uuid_key(e) for e in stored], list(stored.values())))

    def _conflict(self, item: RawItem, payload: bytes, event_id: str) -> DeadLetter:
        detail = f"event_id: {event_id} was already used by a different event"
        return self._dead(item, payload, Reason.CONFLICTING_DUPLICATE.value, detail)

    def quarantine(self, out: Normalized, indices: Iterable[int], detail: str) -> None:
        """Move records the store cannot take to dead letters (``processing_error``), in place."""
        bad = set(indices)
        if not bad:
            return
        ids = {out.columns[0][i] for i in bad}
        for i in sorted(bad):
            item, payload = out.origins[i]
            out.dead.append(self._dead(item, payload, Reason.PROCESSING_ERROR.value, detail[:500]))
        keep = [i for i in range(len(out.columns[0])) if i not in bad]  # the reference path's rows
        out.columns = [[col[i] for i in keep] for col in out.columns]
        out.origins = [out.origins[i] for i in keep]
        out.links = out.links.without(ids)

    def _emit(self, kept: list[_Kept], now: datetime, out: Normalized) -> None:
        """Append the kept events' columns, identity links and origins to ``out``."""
        events = [k.event for k in kept]
        props = [e.properties for e in events]  # type: ignore[attr-defined]  # every event type has them
        # Without analytics consent an event is kept for aggregates only: no identifiers.
        consent = [e.consent.analytics for e in events]
        conversions = self._conversion_types
        is_conv = [e.type in conversions for e in events]
        classify = self._tax.classify
        touch = ["" if conv else classify(e) for e, conv in zip(events, is_conv, strict=True)]
        event_ids = [str(e.event_id) for e in events]
        identifiers: list[list[str]] = []
        known = self._extracted
        links = Links()
        group_of: dict[Extracted, int] = {}
        for e, event_id, k, ok, conv, ch in zip(events, event_ids, kept, consent, is_conv, touch, strict=True):
            ex = None
            if ok:
                # A person's events repeat the same identities (a visit's page views): extract once.
                key = (e.identities, e.is_device_shared)
                ex = known.get(key)
                if ex is None:
                    if len(known) >= _EXTRACTED_CACHE:
                        known.clear()
                    ex = known[key] = extract(e, junk_hashes=self._junk)
            found = list(ex.identifiers) if ex else []
            identifiers.append(found)
            if ex and (len(found) > 1 or ex.refused or conv or ch):
                g = group_of.get(ex)
                if g is None:
                    g = group_of[ex] = len(links.groups)
                    links.groups.append(ex)
                links.group.append(g)
                links.event_id.append(event_id)
                links.event_time_us.append((k.event_time - _EPOCH) // _US)
                links.conversion.append(conv)
        columns: dict[str, list[Any]] = {c.name: _column(c, paths, events, consent) for c, paths in self._mapped}
        columns |= {
            "schema_version": [e.schema_version for e in events],
            "occurred_at": [k.occurred for k in kept],
            "sent_at": [k.sent for k in kept],
            "received_at": [k.received for k in kept],
            "event_time": [k.event_time for k in kept],
            "late": [int(k.late) for k in kept],
            "primary_identifier": [found[0] if found else "" for found in identifiers],
            "identifiers": identifiers,
            "consent_analytics": [int(ok) for ok in consent],
            "touch_channel": touch,
            "is_conversion": [int(conv) for conv in is_conv],
            "properties": [_props_json(x) for x in props],
            "fingerprint": [k.digest for k in kept],
            "ingested_at": [now] * len(kept),
        }
        for mine, name in zip(out.columns, self.names, strict=True):
            mine += columns[name]
        out.origins += [k.origin for k in kept]
        out.links.extend(links)
