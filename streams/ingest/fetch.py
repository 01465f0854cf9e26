"""Whole record sets from aiokafka: the ingest consumer reads a partition's fetch in one native call.

Why: aiokafka builds a ``ConsumerRecord`` per message in Python, which cost the ingest loop more
than the events' own decoding (docs/decisions/whole-record-sets.md).

How: aiokafka's fetcher wraps each partition's fetched bytes in ``MemoryRecords`` and iterates them,
record by record, through ``PartitionRecords``. ``install()`` puts thin subclasses of both in
aiokafka's fetcher module. The bytes are kept beside the records. A consumer created with
``value_deserializer=whole_sets`` then gets one ``RecordSet`` per partition fetch, read by
``_native.read_records``, instead of a ``ConsumerRecord`` per message. Everything else is still
aiokafka's own code: positions, assignment checks, rebalances, fetch waiters, errors. Only the
unit that ``getmany`` returns changes. Every other consumer in the process (Faust's) is untouched.

A record set the native reader does not handle is read by aiokafka as before and returned as a
``RecordSet`` too: older message formats, compression, control batches with read-committed
isolation, a bad CRC. aiokafka then raises its own errors. Without the native module, or with an
aiokafka whose fetcher no longer has these names, ``install()`` returns False and ``RecordSet.of``
wraps ``getmany``'s records instead. tests/integration/test_fetch.py compares both with a plain
consumer on a real broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
from aiokafka import TopicPartition
from aiokafka.consumer import fetcher as _fetcher

from streams import native

log = logging.getLogger("parcours")


class RecordSet(NamedTuple):
    """One partition's records, in offset order, as columns."""

    topic: str
    partition: int
    values: list[bytes]  # a null value (a tombstone) reads as b""
    timestamps_ms: np.ndarray  # int64; -1 where the producer set none
    offsets: np.ndarray  # int64

    @classmethod
    def of(cls, tp: TopicPartition, records: Sequence[Any]) -> RecordSet:
        """From aiokafka's ``ConsumerRecord`` objects."""
        return cls(
            tp.topic,
            tp.partition,
            [r.value if isinstance(r.value, bytes) else b"" for r in records],
            np.fromiter((-1 if r.timestamp is None else r.timestamp for r in records), np.int64, len(records)),
            np.fromiter((r.offset for r in records), np.int64, len(records)),
        )

    def __len__(self) -> int:  # a record set's length is its records'
        return len(self.values)


def whole_sets(value: bytes | None) -> bytes | None:
    """The value deserializer that asks for ``RecordSet``s; on any per-record path it is the identity."""
    return value


_MemoryRecords: Any = _fetcher.MemoryRecords
_PartitionRecords: Any = _fetcher.PartitionRecords


class _KeptBytes:
    """aiokafka's ``MemoryRecords`` with the bytes it reads kept: the compiled class exposes none."""

    __slots__ = ("_records", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._records = _MemoryRecords(raw)

    def has_next(self) -> bool:
        return bool(self._records.has_next())

    def next_batch(self) -> Any:
        return self._records.next_batch()

    def size_in_bytes(self) -> int:
        return int(self._records.size_in_bytes())


class _WholePartitionRecords(_PartitionRecords):  # type: ignore[misc]  # aiokafka has no stubs
    """``PartitionRecords`` that yields one ``RecordSet`` when its consumer asked for ``whole_sets``."""

    def __init__(self, tp: TopicPartition, records: Any, aborted: Any, fetch_offset: int, *args: Any) -> None:
        super().__init__(tp, records, aborted, fetch_offset, *args)
        if self._value_deserializer is whole_sets:  # such a consumer only ever gets RecordSets
            self._records_iterator = self._whole(tp, records, fetch_offset)

    def _whole(self, tp: TopicPartition, records: Any, fetch_offset: int) -> Iterator[RecordSet]:
        ours = isinstance(records, _KeptBytes) and self._isolation_level == _fetcher.READ_UNCOMMITTED
        got = _read_records(records.raw, fetch_offset, check_crc=self._check_crcs) if ours else None
        if got is None:  # not ours to read: aiokafka's records (and its errors), as one set
            read = list(self._unpack_records())
            if read:
                yield RecordSet.of(tp, read)
            return
        values, timestamps, offsets, next_offset = got
        # aiokafka moves its position to this once the iterator is exhausted (``FetchResult.getall``).
        self.next_fetch_offset = next_offset
        if values:
            yield RecordSet(
                tp.topic, tp.partition, values, np.frombuffer(timestamps, "<i8"), np.frombuffer(offsets, "<i8")
            )


_lock = threading.Lock()
_installed: bool | None = None


def install() -> bool:
    """Make ``whole_sets`` consumers return ``RecordSet``s; False where that cannot be done here."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = _install()
        return _installed


def _install() -> bool:
    if not native.AVAILABLE:
        return False
    needed = (
        "_unpack_records",
        "_records_iterator",
        "next_fetch_offset",
        "_value_deserializer",
        "_isolation_level",
        "_check_crcs",
    )
    probe = _PartitionRecords(TopicPartition("t", 0), _MemoryRecords(b""), None, 0, None, whole_sets, True, 0)
    if not all(hasattr(probe, n) for n in needed) or not hasattr(_fetcher, "READ_UNCOMMITTED"):
        log.warning("aiokafka's fetcher has changed: the ingest consumer reads record by record (slower)")
        return False
    _fetcher.MemoryRecords = _KeptBytes
    _fetcher.PartitionRecords = _WholePartitionRecords
    return True


def _read_records(raw: bytes, fetch_offset: int, *, check_crc: bool) -> tuple[list[bytes], bytes, bytes, int] | None:
    """A fetched record set → values, timestamps (ms) and offsets (little-endian int64 bytes) and
    the next fetch offset; None where aiokafka must read it."""
    return native.read_records(raw, fetch_offset, check_crc=check_crc)
