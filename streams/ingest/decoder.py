"""The native batch decoder (Rust, ``streams/native/``): payloads → the events table's columns.

Why: after every Python-side saving, a worker still spent ~56 µs of interpreter time an event, which
caps one worker near 17,700 events/s whatever else the machine has (``make bench``'s CPU accounting,
bench/README.md). Most of it went to per-field Python objects: decoding, checks, one list per column,
then Arrow arrays built back from those lists. This decoder reads a batch in one call, without the
GIL, and returns the columns as Arrow buffers, with the PII screen's verdict and each body's digest.
Each distinct identity group's identifiers and refusals are decided natively too (``native/src/
extract.rs``, the rules of ``identity.identifiers.extract_values`` with the junk lists handed over
from Python); Python keeps the channel taxonomy (``journeys.taxonomy``), once per *distinct* value in
the batch rather than once per event. The dedupe window (``ingest.dedupe``) is native too, and sees
the native rows and the reference path's in input order; so is the identity graph
(``identity.graph.new_graph``). The whole loop: ``Normalizer.normalize``.

The contract, the same as the msgspec path's (``schemas.events.fast``):
- The pydantic models stay the spec. The decoder is handed the models as data (``spec()``, built from
  the structs ``fast`` generates from the models), never a copy of them written in Rust.
- It may refuse more than pydantic, never less, and must produce the same columns. A refusal only means
  "step aside": the event goes through the reference path, which names the reason of a dead letter.
  It steps aside on anything it is not sure of: a string with a space at either end, an escape or a
  non-ASCII byte (pydantic strips and counts characters), a float Python would spell with an exponent,
  an implausible time (the reference path names the reason), an unknown type, a repeated key, and
  whatever the PII screen flags (scrubbed first, then read by the reference path).
- tests/ingest/test_native.py checks that both paths produce the same table, links and dead letters on
  the simulator's corpus, every event type and fuzzed payloads, and the screen against pyarrow's RE2.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import msgspec
import msgspec.inspect as mi
import numpy as np
import pyarrow as pa

from schemas.events import fast
from schemas.events.envelope import SHARED_DEVICE_KINDS
from schemas.events.registry import ALL_EVENTS, MAX_EVENT_BYTES
from streams import native
from streams.identity.identifiers import JUNK_VALUES, Extracted
from streams.identity.pii import junk_hashes
from streams.ingest.eventtime import MAX_CORRECTABLE_SKEW
from streams.settings import Settings
from streams.store.layout import EVENTS_SCHEMA

_TEXT_KINDS = {"event_id": "uuid", "occurred_at": "datetime", "sent_at": "datetime", "received_at": "datetime"}


class _SpecBuilder:
    def __init__(self) -> None:
        self.structs: list[list[dict[str, Any]]] = []
        self._index: dict[type, int] = {}

    def struct(self, info: mi.StructType, *, event: bool = False) -> int:
        hit = self._index.get(info.cls)
        if hit is not None:
            return hit
        i = self._index[info.cls] = len(self.structs)
        self.structs.append([])  # reserved: a struct may refer to itself
        fields = []
        for f in info.fields:
            kind = _TEXT_KINDS.get(f.name) if event else None
            ty = self.type(f.type, text=kind)
            field: dict[str, Any] = {"name": f.name, "type": ty, "required": f.required}
            if not f.required:
                value = f.default_factory() if f.default is msgspec.NODEFAULT else f.default
                field["default_json"] = msgspec.json.encode(value).decode()
            fields.append(field)
        self.structs[i] = fields
        return i

    def type(self, t: mi.Type, *, text: str | None = None) -> dict[str, Any]:
        if isinstance(t, mi.UnionType):
            members = [m for m in t.types if not isinstance(m, mi.NoneType)]
            if len(members) == 1 and len(t.types) == 2:
                return {"k": "opt", "t": self.type(members[0], text=text)}
            return {"k": "unsupported"}
        if isinstance(t, mi.StrType):
            if text:
                return {"k": text}
            # Rust's regex has no \Z; its $ already means the very end, like pydantic's (also Rust's).
            pattern = t.pattern.replace(r"\Z", r"\z") if t.pattern else None
            return {"k": "str", "min": t.min_length, "max": t.max_length, "pattern": pattern}
        if isinstance(t, mi.IntType | mi.FloatType):
            if t.gt is not None or t.lt is not None or t.multiple_of is not None:
                return {"k": "unsupported"}
            return {"k": "int" if isinstance(t, mi.IntType) else "float", "ge": t.ge, "le": t.le}
        if isinstance(t, mi.BoolType):
            return {"k": "bool"}
        if isinstance(t, mi.LiteralType):
            if not all(isinstance(v, str) for v in t.values):
                return {"k": "unsupported"}
            return {"k": "lit", "values": list(t.values)}
        if isinstance(t, mi.ListType):
            return {"k": "list", "item": self.type(t.item_type), "min": t.min_length, "max": t.max_length}
        if isinstance(t, mi.DictType):
            key = t.key_type
            if not isinstance(key, mi.StrType) or key.pattern or key.min_length or key.max_length:
                return {"k": "unsupported"}
            return {"k": "dict", "value": self.type(t.value_type), "min": t.min_length, "max": t.max_length}
        if isinstance(t, mi.StructType):
            return {"k": "struct", "i": self.struct(t)}
        return {"k": "unsupported"}


@functools.cache  # the models do not change in a process; a worker's normalizers share it
def spec() -> str:
    """The event models as the decoder reads them (JSON): structs, fields, types, defaults."""
    b = _SpecBuilder()
    events: dict[str, int] = {}
    for model in ALL_EVENTS:
        info = cast(mi.StructType, mi.type_info(fast._struct(model)))
        events[model.model_fields["type"].default] = b.struct(info, event=True)
    return json.dumps(
        {
            "structs": b.structs,
            "events": events,
            "max_bytes": MAX_EVENT_BYTES,
            "shared_kinds": sorted(SHARED_DEVICE_KINDS),
        }
    )


def _us(d: timedelta) -> int:
    return d // timedelta(microseconds=1)


ClassGroup = tuple[str, str | None, str | None, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A batch as the decoder read it. Rows are the events it kept, in input order."""

    native: np.ndarray  # bool per input payload: read here (else: the reference path's)
    flagged: np.ndarray  # bool per input payload: matched the screen (scrubbed, then the reference path)
    keys: bytes  # per row: event_id as a 128-bit little-endian int (the dedupe window's key)
    digests: bytes  # per row: the content digest (``fingerprint``), 4 bytes little-endian (the window's)
    arrays: dict[str, pa.Array]  # per row: the events table's columns it fills
    event_time_us: np.ndarray  # per row: event time, µs since the epoch (links carry it)
    id_group: np.ndarray  # per row: index into id_groups, -1 without analytics consent
    id_groups: list[tuple[Any, ...]]  # per group, its ``Extracted`` fields (``group(i)``)
    # Per group and one more, empty, for group -1: the events table's identifier columns, and
    # whether the group's events are linked (several identifiers, or one refused).
    group_identifiers: pa.ListArray
    group_primary: pa.StringArray
    group_linked: np.ndarray  # bool
    cls_group: np.ndarray  # per row: index into cls_groups
    cls_groups: list[ClassGroup]

    def __len__(self) -> int:
        return len(self.event_time_us)

    def group(self, i: int) -> Extracted:
        # Built for the groups that link only: most of a batch's groups need no Python object.
        return Extracted._make(self.id_groups[i])


def _buf(b: bytes) -> pa.Buffer:
    return pa.py_buffer(b)


def _string_array(offsets: bytes, data: bytes) -> pa.StringArray:
    return cast(
        pa.StringArray, pa.Array.from_buffers(pa.string(), len(offsets) // 4 - 1, [None, _buf(offsets), _buf(data)])
    )


def _list_array(lists: bytes, offsets: bytes, data: bytes) -> pa.ListArray:
    """A list<string> column from its three buffers: list offsets, string offsets, bytes."""
    starts = pa.Array.from_buffers(pa.int32(), len(lists) // 4, [None, _buf(lists)])
    return pa.ListArray.from_arrays(starts, _string_array(offsets, data))


class NativeDecoder:
    """``screen``: a regex over raw payloads (RE2 syntax as pyarrow reads bytes, which Rust's regex
    shares for what it is used for); payloads it matches are left to the reference path."""

    def __init__(self, settings: Settings, *, screen: str) -> None:
        if not native.AVAILABLE:
            raise RuntimeError("the native decoder is not built: `make install` (needs cargo)")
        self._d = native.Decoder(
            spec(),
            screen=screen,
            max_skew_us=_us(timedelta(seconds=settings.max_skew_s)),
            future_tolerance_us=_us(timedelta(seconds=settings.future_tolerance_s)),
            late_allowance_us=_us(timedelta(seconds=settings.late_allowance_s)),
            max_correctable_skew_us=_us(MAX_CORRECTABLE_SKEW),
            junk_values=sorted(JUNK_VALUES),
            junk_hashes=sorted(junk_hashes(settings.pepper())),
            digest_key=settings.pepper().encode(),
        )

    def decode(self, payloads: list[bytes], arrived_us: list[int]) -> Decoded:
        r = self._d.decode(payloads, arrived_us)
        n = r["rows"]
        cols: dict[str, Any] = r["columns"]
        arrays: dict[str, pa.Array] = {}
        for name, value in cols.items():
            if name == "event_time_us":
                continue
            t = EVENTS_SCHEMA.field(name).type
            if name == "skus":
                arrays[name] = _list_array(*value)
            elif name == "sent_at":
                data, valid = value
                arrays[name] = pa.Array.from_buffers(t, n, [_buf(valid), _buf(data)])
            elif isinstance(value, tuple):
                offsets, data = value
                arrays[name] = pa.Array.from_buffers(t, n, [None, _buf(offsets), _buf(data)])
            else:
                arrays[name] = pa.Array.from_buffers(t, n, [None, _buf(value)])
        return Decoded(
            native=np.frombuffer(r["native"], np.uint8).astype(bool),
            flagged=np.frombuffer(r["flagged"], np.uint8).astype(bool),
            keys=r["keys"],
            digests=r["digests"],
            arrays=arrays,
            event_time_us=np.frombuffer(cols["event_time_us"], np.int64),
            id_group=np.frombuffer(r["id_group"], np.int32),
            id_groups=r["id_groups"],
            group_identifiers=_list_array(*r["group_identifiers"]),
            group_primary=_string_array(*r["group_primary"]),
            group_linked=np.frombuffer(r["group_linked"], np.uint8).astype(bool),
            cls_group=np.frombuffer(r["cls_group"], np.int32),
            cls_groups=r["cls_groups"],
        )
