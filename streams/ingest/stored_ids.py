"""Copies of stored events that arrive after the dedupe window has forgotten them.

The window (``dedupe``) holds the latest ids; a copy that comes back later — a producer's replay,
a restart, a bug that reuses ids — would otherwise be stored again and, with different content,
replace the original and link identifiers it never had. Every stored event id is kept in a Bloom
filter (``bits`` bits, ``hashes`` positions an id, taken from the id's own random bits), loaded
from the store at start and refreshed with what other workers stored; an id the filter may have
seen is looked up with its stored fingerprint (``fingerprint``) and event time. A copy with the
same content and time passes (storing it again changes nothing, and its links are sent again, as
after a crash, when the first send may not have happened); one with other content is refused as
``conflicting_duplicate`` and the original kept. A copy with the same content sent again later
(a producer's retry hours after) is skew-corrected to another event time: stored again, it would
be a second row and credit its conversion again from the later time, so it is dropped as the
duplicate it is, links and all (the original's redelivery, not this copy, carries any links a
crash lost).
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
    stored, restamped = stored_copies(backend, table, ids)
    if stored:
        normalizer.refuse_stored_conflicts(batch, out, stored)
    if restamped:
        out.links = out.links.without(restamped)
        out.duplicates += len(restamped)
    if not stored and not restamped:
        return table
    gone = pa.array(sorted({*stored, *restamped}), pa.string())
    return table.filter(pc.invert(pc.is_in(table.column("event_id"), gone)))


def stored_copies(backend: Backend, table: pa.Table, ids: StoredIds) -> tuple[dict[str, int], set[str]]:
    """The batch's events whose id the store holds: (those with another fingerprint, with the
    stored one; those with the same content at another event time). A 0 fingerprint, an event
    stored before fingerprints were kept, conflicts with nothing. Adds the others to ``ids``."""
    ids.fresh(backend)
    if not table.num_rows:
        return {}, set()
    event_ids = table.column("event_id").to_pylist()
    maybe = ids.maybe(event_ids)
    conflicts: dict[str, int] = {}
    restamped: set[str] = set()
    if maybe.any():
        ms = pc.cast(table.column("event_time"), pa.timestamp("ms", "UTC"), safe=False)  # stored to the ms
        times = pc.cast(ms, pa.int64()).to_pylist()
        mine = dict(zip(event_ids, zip(table.column("fingerprint").to_pylist(), times, strict=True), strict=True))
        asked = [e for e, m in zip(event_ids, maybe.tolist(), strict=True) if m]
        rows = backend.query(
            "SELECT toString(event_id) AS id, fingerprint, groupArray(toUnixTimestamp64Milli(event_time)) AS ms "
            "FROM events FINAL WHERE event_id IN {ids:Array(UUID)} GROUP BY id, fingerprint",
            {"ids": asked},
        )
        for r in rows:
            fingerprint, ms = mine[str(r["id"])]
            if int(r["fingerprint"]) not in (0, fingerprint):
                conflicts[str(r["id"])] = int(r["fingerprint"])
            elif int(r["fingerprint"]) == fingerprint and ms not in {int(t) for t in r["ms"]}:
                restamped.add(str(r["id"]))
    ids.add([e for e in event_ids if e not in conflicts])
    return conflicts, restamped
