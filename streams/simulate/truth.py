"""What the simulator knows and the pipeline must discover."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

ONLINE_CHANNELS = frozenset({"web", "social", "tv"})


class TrueEvent(NamedTuple):
    """A valid event as the simulator emitted it, with what the pipeline must discover."""

    event_id: str
    type: str
    channel: str  # raw topic family
    at: datetime  # event time (UTC)
    person: int | None  # the customer behind it; None for the brand's own events and the crowd
    presented: tuple[str, ...]  # "kind:value" identifiers it carries (shared devices left out)
    touch: str  # the touchpoint channel it was meant as ("" if none), in the taxonomy's names
    revenue: float  # for a conversion
    spot: str  # the TV spot a second-screen response answered ("" otherwise)
    session: str = ""  # the fitting-room session a store event belongs to
    skus: tuple[str, ...] = ()  # what was tried (item_tried) or bought
    room: str = ""  # store/fitting room of a fitting-room event
    store: str = ""  # the store of a store event


@dataclass
class GroundTruth:
    seed: int
    persons: int
    identifier_person: dict[str, int] = field(default_factory=dict)  # "kind:value" → person index
    channel_lift: dict[str, float] = field(default_factory=dict)  # true multiplicative effect per touch
    conversions: int = 0
    revenue: float = 0.0
    shared_devices: list[str] = field(default_factory=list)
    tz: str = "Europe/Paris"
    events: list[TrueEvent] = field(default_factory=list)  # every valid event, once
    crm: list[dict[str, Any]] = field(default_factory=list)  # the CRM export (clear values: a fixture)
    crm_presented: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (person, ids) it links

    def evidence(self, *, crm: bool) -> list[tuple[str, ...]]:
        """Identifier sets presented together: each event's, and with ``crm`` each CRM record's."""
        return [e.presented for e in self.events] + ([ids for _, ids in self.crm_presented] if crm else [])

    def in_store_linkage(self, start: datetime, end: datetime, *, crm: bool = False) -> dict[str, float]:
        """Till sales in [start, end) and those that are linkable: their identifiers reach, through
        identifiers presented together on the buyer's own events (and, with ``crm``, in the loaded
        CRM export), one the buyer presented on a web, social or TV event. Derived from what
        customers presented, never declared."""
        comps = IdentityComponents(self.evidence(crm=crm))
        online: dict[int, set[str]] = {}
        for e in self.events:
            if e.person is not None and e.channel in ONLINE_CHANNELS:
                online.setdefault(e.person, set()).update(comps.find(i) for i in e.presented)
        sales = [e for e in self.events if e.type == "pos_purchase" and start <= e.at < end]
        linkable = [
            e
            for e in sales
            if e.person is not None and {comps.find(i) for i in e.presented} & online.get(e.person, set())
        ]
        return {
            "purchases": len(sales),
            "revenue": round(sum(e.revenue for e in sales), 2),
            "linkable": len(linkable),
            "linkable_revenue": round(sum(e.revenue for e in linkable), 2),
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), default=str))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        doc = json.loads(path.read_text())
        events = [
            TrueEvent(
                event_id=e[0],
                type=e[1],
                channel=e[2],
                at=datetime.fromisoformat(e[3]),
                person=e[4],
                presented=tuple(e[5]),
                touch=e[6],
                revenue=e[7],
                spot=e[8],
                session=e[9],
                skus=tuple(e[10]),
                room=e[11],
                store=e[12],
            )
            for e in doc.pop("events", [])
        ]
        return cls(**doc, events=events)


class IdentityComponents:
    """Identifiers presented together on one event are one customer's, as far as anyone can know:
    union-find over the events' presented identifiers (shared devices are never presented)."""

    def __init__(self, evidence: Iterable[tuple[str, ...]]) -> None:
        self.parent: dict[str, str] = {}
        for presented in evidence:
            for a, b in pairwise(presented):
                self.parent[self.find(a)] = self.find(b)

    def find(self, x: str) -> str:
        root = x
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root
