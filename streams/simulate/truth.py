"""What the simulator knows and the pipeline must discover."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple


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

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), default=str))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        doc = json.loads(path.read_text())
        events = [
            TrueEvent(e[0], e[1], e[2], datetime.fromisoformat(e[3]), e[4], tuple(e[5]), *e[6:])
            for e in doc.pop("events", [])
        ]
        return cls(**doc, events=events)
