"""The replay guard: records of an erased person that arrived before the erasure are dropped.

Topics keep a person's events until their retention ends (``topic_retention_days``), and a new
consumer group or a restored store reads them again: without this, a replay would rebuild the
person. A record is dropped — counted, not stored, not linked — when one of its identifiers has
a peppered hash in an erasure (``streams.identity.erased``) asked for at or after the record
arrived (``received_at``: the Kafka record timestamp, or the collector's arrival time for what
came through it). Later records are kept: they start a new person, with a fresh id.

Cost on the hot path: nothing without erasures; one Arrow min over the batch's arrival times
when every record arrived after the latest erasure (a live stream, nearly always).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streams.identity.erased import Erasures
from streams.identity.identifiers import dead_letter_identifiers
from streams.identity.links import Links
from streams.ingest.normalize import DeadLetter

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def screen_events(table: pa.Table, erasures: Erasures) -> tuple[pa.Table, set[str]]:
    """The events table without erased persons' records; and the event ids dropped."""
    if erasures.latest_us < 0 or not table.num_rows:
        return table, set()
    arrived = table.column("received_at")
    first = pc.min(arrived).as_py()
    if first is None or (first - _EPOCH) // _US > erasures.latest_us:
        return table, set()
    # Only the records old enough to be erased are read in Python (a replay of old data).
    candidates = pc.less_equal(arrived, pa.scalar(erasures.latest_us // 1000, pa.timestamp("ms", tz="UTC")))
    at = pc.indices_nonzero(candidates).to_pylist()
    ids = table.column("identifiers").take(at).to_pylist()
    times = arrived.take(at).to_pylist()
    drop = [i for i, idents, t in zip(at, ids, times, strict=True) if erasures.erased(idents, (t - _EPOCH) // _US)]
    if not drop:
        return table, set()
    dropped = {str(x) for x in table.column("event_id").take(drop).to_pylist()}
    keep = np.ones(table.num_rows, bool)
    keep[drop] = False
    return table.filter(pa.array(keep)), dropped


def screen_links(links: Links, arrived_us: int, erasures: Erasures) -> Links:
    """A links message read again (a new consumer group on the links topic): the links of events
    of an erased person are not linked again when the message was written before the erasure."""
    if arrived_us > erasures.latest_us or not len(links):
        return links
    hit = {g for g, ex in enumerate(links.groups) if erasures.erased(ex.identifiers, arrived_us)}
    if not hit:
        return links
    return links.without({e for g, e in zip(links.group, links.event_id, strict=True) if g in hit})


def screen_dead_letters(letters: Sequence[DeadLetter], erasures: Erasures) -> list[DeadLetter]:
    """Dead letters without those of an erased person received before the erasure."""
    if erasures.latest_us < 0:
        return list(letters)
    latest = erasures.latest_us
    kept = []
    for d in letters:
        at = (d.received_at.astimezone(UTC) - _EPOCH) // _US
        if at <= latest and erasures.erased(dead_letter_identifiers(d.payload), at):
            continue
        kept.append(d)
    return kept
