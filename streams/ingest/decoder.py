"""The native batch decoder (Rust, ``streams/native/``): payloads → the events table's columns.

Why a native decoder at all: docs/decisions/native-decoder.md. It reads a batch in one call,
without the GIL, and returns the columns as Arrow buffers, with the PII screen's verdict and each
body's digest. Each distinct identity group's identifiers and refusals are decided natively too
(``native/src/extract.rs``, the rules of ``identity.identifiers.extract_values`` with the junk
lists handed over from Python); Python keeps the channel taxonomy (``journeys.taxonomy``), once per
*distinct* value in the batch. The whole loop: ``Normalizer.normalize``.

The contract:
- The pydantic models and the row map (``store.layout``) stay the spec. The decoder is handed both
  as data (``ingest.spec``), never a copy of them written in Rust.
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

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import pyarrow as pa

from streams import native
from streams.identity.identifiers import JUNK_VALUES, Extracted
from streams.identity.pii import junk_hashes
from streams.ingest.eventtime import EARLIEST, MAX_CORRECTABLE_SKEW
from streams.ingest.fingerprint import TRANSPORT_KEYS
from streams.ingest.spec import spec
from streams.settings import Settings
from streams.store.layout import EVENTS, Column

# What the decoder steps aside for besides the PII scrub's triggers: a space at either end of a
# string, an escape, a non-ASCII byte (pydantic strips and counts characters). Part of the batch
# screen (``normalize._SCREEN``); the decoder recognises the screen and scans for it by hand.
STEP_ASIDE_TRIGGERS = r'" | "|\\|[^\x00-\x7f]'

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    def __init__(self, settings: Settings, *, screen: str, columns: tuple[Column, ...] = EVENTS) -> None:
        if not native.AVAILABLE:
            raise RuntimeError("the native decoder is not built: `make install` (needs cargo)")
        self._d = native.Decoder(
            spec(columns),
            screen=screen,
            max_skew_us=_us(timedelta(seconds=settings.max_skew_s)),
            future_tolerance_us=_us(timedelta(seconds=settings.future_tolerance_s)),
            late_allowance_us=_us(timedelta(seconds=settings.late_allowance_s)),
            max_correctable_skew_us=_us(MAX_CORRECTABLE_SKEW),
            earliest_us=_us(EARLIEST - _EPOCH),
            junk_values=sorted(JUNK_VALUES),
            junk_hashes=sorted(junk_hashes(settings.pepper())),
            digest_key=settings.pepper().encode(),
            transport_keys=sorted(TRANSPORT_KEYS),
        )

    def decode(self, payloads: list[bytes], arrived_us: list[int]) -> Decoded:
        r = self._d.decode(payloads, arrived_us)
        # The columns arrive as one Arrow record batch through the C Data Interface, without a copy.
        batch = pa.RecordBatch._import_from_c_capsule(*r["columns"])
        arrays: dict[str, pa.Array] = dict(zip(batch.schema.names, batch.columns, strict=True))
        return Decoded(
            native=np.frombuffer(r["native"], np.uint8).astype(bool),
            flagged=np.frombuffer(r["flagged"], np.uint8).astype(bool),
            keys=r["keys"],
            digests=r["digests"],
            arrays=arrays,
            event_time_us=np.frombuffer(r["event_time_us"], np.int64),
            id_group=np.frombuffer(r["id_group"], np.int32),
            id_groups=r["id_groups"],
            group_identifiers=_list_array(*r["group_identifiers"]),
            group_primary=_string_array(*r["group_primary"]),
            group_linked=np.frombuffer(r["group_linked"], np.uint8).astype(bool),
            cls_group=np.frombuffer(r["cls_group"], np.int32),
            cls_groups=r["cls_groups"],
        )
