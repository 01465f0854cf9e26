"""Load events straight into the store, without Kafka: history imports, benchmarks, and the
dashboards' test data. The worker's stages in the same order — ingest (normalize, store),
identity, live attribution — in batches, in arrival order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from streams.attribution.live import LiveCredits, credit_unlinked
from streams.identity.stage import IdentityStage
from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.normalize import Normalizer, RawBatch, RawItem
from streams.ingest.stored import store_events
from streams.ingest.stored_ids import StoredIds, refuse_stored_copies
from streams.settings import Settings
from streams.store.backend import Backend


@dataclass
class BackfillStats:
    events: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    links: int = 0
    counters: dict[str, int] = field(default_factory=dict)


def _chunks(it: Iterable[RawItem], n: int) -> Iterator[list[RawItem]]:
    src = iter(it)
    while chunk := list(islice(src, n)):
        yield chunk


def backfill(
    backend: Backend,
    settings: Settings,
    records: Iterable[tuple[bytes, int]],
    *,
    batch_size: int = 20_000,
    live_credits: bool = True,
    identity: IdentityStage | None = None,
) -> BackfillStats:
    """records: (payload, arrival ms). Returns what was stored. ``identity``: a stage that
    outlives the call (loaded by the caller); the live credits are reloaded from the store."""
    normalizer = Normalizer(settings)
    identity = identity or IdentityStage(settings, backend)
    live = LiveCredits(settings, backend) if live_credits else None
    if live is not None:
        live.load()
    ids = StoredIds()
    stats = BackfillStats()
    items = (RawItem(p, f"backfill/0/{i}", datetime.fromtimestamp(ts / 1000, UTC)) for i, (p, ts) in enumerate(records))
    for chunk in _chunks(items, batch_size):
        out = normalizer.normalize(chunk)
        table = events_table_or_quarantine(out, normalizer)
        table = refuse_stored_copies(backend, ids, normalizer, RawBatch.of(chunk), out, table)
        store_events(backend, table, settings)
        if live is not None:
            credit_unlinked(backend, settings, table)
        backend.insert("dead_letters", [d.row() for d in out.dead])
        change = identity.process([out.links])
        if live is not None:
            live.credit(change)
        stats.events += table.num_rows
        stats.dead_letters += len(out.dead)
        stats.duplicates += out.duplicates
        stats.links += len(out.links)
    return stats
