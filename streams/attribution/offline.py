"""The pipeline's logic without Kafka or ClickHouse: normalize → identity graph → journeys.

Used to measure stitching and attribution against the simulator's ground truth in seconds,
with the same code the stream runs (the integration tests cover the Kafka and ClickHouse path).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.identity.graph import Graph, new_graph
from streams.identity.identifiers import singleton_person
from streams.ingest.normalize import Normalized, Normalizer, RawItem
from streams.journeys.build import Journey, PersonTimeline, build_journeys, group_rows
from streams.settings import Settings


@dataclass
class OfflineRun:
    graph: Graph
    normalized: Normalized
    decisions: list[Any] = field(default_factory=list)

    def person_of_row(self, row: dict[str, Any]) -> str:
        pid = row["primary_identifier"]
        return self.graph.person_of(pid) if pid else ""

    def timelines(self) -> list[PersonTimeline]:
        rows = []
        for r in self.normalized.rows:
            person = self.person_of_row(r)
            # a conversion no identifier links is a person-less journey, as the store keeps it
            if (person and r["touch_channel"]) or r["is_conversion"]:
                rows.append({**r, "person_id": person})
        return group_rows(rows)

    def journeys(self, lookback: timedelta, *, include_null: bool = True) -> list[Journey]:
        return [j for tl in self.timelines() for j in build_journeys(tl, lookback=lookback, include_null=include_null)]


def run_offline(records: Iterable[tuple[bytes, int]], settings: Settings) -> OfflineRun:
    """records: (payload, arrival ms) in arrival order."""
    items = [RawItem(p, f"offline/0/{i}", datetime.fromtimestamp(ts / 1000, UTC)) for i, (p, ts) in enumerate(records)]
    out = Normalizer(settings).normalize(items)
    graph = new_graph(max_ids_per_type=settings.max_ids_per_type, native=settings.native_decoder)
    run = OfflineRun(graph, out)
    links = out.links
    for g in links.group:
        run.decisions.extend(graph.link(links.groups[g].identifiers, links.groups[g].verified_crm))
    return run


def pairwise_scores(truth: dict[str, int], person_of: dict[str, str]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of 'same person' over identifiers in ``truth``.

    Returns (precision, recall, predicted pairs, true pairs)."""
    from collections import Counter

    pred = Counter(person_of.get(i, singleton_person(i)) for i in truth)
    true = Counter(truth.values())
    both = Counter((person_of.get(i, singleton_person(i)), t) for i, t in truth.items())

    def pairs(c: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in c.values())

    tp, pp, tt = pairs(both), pairs(pred), pairs(true)
    return (tp / pp if pp else 1.0), (tp / tt if tt else 1.0), pp, tt
