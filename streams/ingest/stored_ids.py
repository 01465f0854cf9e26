"""Copies of stored events that arrive after the dedupe window has forgotten them.

The window (``dedupe``) holds the latest ids; a copy that comes back later — a producer's replay,
a restart, a bug that reuses ids — would otherwise be stored again and, with different content,
replace the original and link identifiers it never had. Every stored event id is kept in a Bloom
filter (``bits`` bits, ``hashes`` positions an id, taken from the id's own random bits), loaded
from the store at start and refreshed with what other workers stored; an id the filter may have
seen is looked up with its stored fingerprint (``fingerprint``). A copy with the same content
passes (storing it again changes nothing, and its links are sent again, as after a crash); one
with other content is refused as ``conflicting_duplicate`` and the original kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streams.ingest.normalize import Normalized, Normalizer, RawBatch
from streams.store.backend import Backend

# (h1, h2): the UUID's two 64-bit halves, as the SQL below reads them from its text.
_HALVES = (
    "reinterpretAsUInt64(reverse(unhex(substring(h, 1, 16)))) AS h1, "
    "reinterpretAsUInt64(reverse(unhex(substring(h, 17, 16)))) AS h2"
)


class StoredIds:
    def __init__(self, *, bits: int = 1 << 28, hashes: int = 7) -> None:
        self.m = np.uint64(bits)
        self.k = hashes
        self._words = np.zeros((bits + 63) // 64, np.uint64)
        self.loaded_until: datetime | None = None

    def fresh(self, backend: Backend, *, every: timedelta = timedelta(seconds=30)) -> None:
        """Loaded, and refreshed with other workers' ids at most ``every``."""
        if self.loaded_until is None or datetime.now(UTC) - self.loaded_until >= every:
            self.load(backend)

    def _positions(self, ids: list[str]) -> np.ndarray:
        halves = np.frombuffer(bytes.fromhex("".join(i.replace("-", "") for i in ids)), ">u8").reshape(-1, 2)
        h1, h2 = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        with np.errstate(over="ignore"):  # the SQL wraps around too
            steps = np.arange(self.k, dtype=np.uint64)[None, :] * h2[:, None]
            return (h1[:, None] + steps) % self.m

    def add(self, ids: list[str]) -> None:
        if ids:
            pos = self._positions(ids).ravel()
            np.bitwise_or.at(self._words, pos >> np.uint64(6), np.uint64(1) << (pos & np.uint64(63)))

    def maybe(self, ids: list[str]) -> np.ndarray:
        """Per id: True where the store may hold it (false positives ~0.1% at 14M ids, 1% at 28M), False where not."""
        if not ids:
            return np.zeros(0, bool)
        pos = self._positions(ids)
        bits = (self._words[pos >> np.uint64(6)] >> (pos & np.uint64(63))) & np.uint64(1)
        return bits.all(axis=1)  # type: ignore[no-any-return]

    def load(self, backend: Backend, *, overlap: timedelta = timedelta(minutes=5)) -> int:
        """Add the ids stored since the last load (all of them the first time), whichever worker
        stored them; ClickHouse computes the filter's words, so ids never travel one by one."""
        now = datetime.now(UTC)
        since = (self.loaded_until - overlap) if self.loaded_until else datetime(1970, 1, 1, tzinfo=UTC)
        rows = backend.query(
            "SELECT intDiv(pos, 64) AS w, groupBitOr(bitShiftLeft(toUInt64(1), pos % 64)) AS bits, count() AS n "
            "FROM (SELECT arrayJoin(arrayMap(i -> (h1 + i * h2) % {m:UInt64}, range({k:UInt8}))) AS pos "
            f"FROM (SELECT {_HALVES} FROM (SELECT replaceAll(toString(event_id), '-', '') AS h FROM events "
            "WHERE ingested_at >= {since:DateTime64(3, 'UTC')}))) GROUP BY w",
            {"m": int(self.m), "k": self.k, "since": since.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
        )
        if rows:
            words = np.fromiter((int(r["w"]) for r in rows), np.int64, len(rows))
            bits = np.fromiter((int(r["bits"]) for r in rows), np.uint64, len(rows))
            self._words[words] |= bits
        self.loaded_until = now
        return sum(int(r["n"]) for r in rows) // self.k


def refuse_stored_copies(
    backend: Backend, ids: StoredIds, normalizer: Normalizer, batch: RawBatch, out: Normalized, table: pa.Table
) -> pa.Table:
    """``table`` without the copies of stored events that carry other content; ``out`` gets their
    dead letters and loses their links (``Normalizer.refuse_stored_conflicts``)."""
    stored = stored_conflicts(backend, table, ids)
    if not stored:
        return table
    normalizer.refuse_stored_conflicts(batch, out, stored)
    return table.filter(pc.invert(pc.is_in(table.column("event_id"), pa.array(sorted(stored), pa.string()))))


def stored_conflicts(backend: Backend, table: pa.Table, ids: StoredIds) -> dict[str, int]:
    """The batch's events whose id the store holds with another fingerprint, with the stored one
    (a 0 fingerprint, an event stored before fingerprints were kept, conflicts with nothing).
    Adds the rest to ``ids``."""
    ids.fresh(backend)
    if not table.num_rows:
        return {}
    event_ids = table.column("event_id").to_pylist()
    maybe = ids.maybe(event_ids)
    conflicts: dict[str, int] = {}
    if maybe.any():
        mine = dict(zip(event_ids, table.column("fingerprint").to_pylist(), strict=True))
        asked = [e for e, m in zip(event_ids, maybe.tolist(), strict=True) if m]
        rows = backend.query(
            "SELECT toString(event_id) AS id, fingerprint FROM events FINAL WHERE event_id IN {ids:Array(UUID)}",
            {"ids": asked},
        )
        conflicts = {
            str(r["id"]): int(r["fingerprint"]) for r in rows if int(r["fingerprint"]) not in (0, mine[str(r["id"])])
        }
    ids.add([e for e in event_ids if e not in conflicts])
    return conflicts
