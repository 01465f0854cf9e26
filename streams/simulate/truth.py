"""What the simulator knows and the pipeline must discover."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class GroundTruth:
    seed: int
    persons: int
    identifier_person: dict[str, int] = field(default_factory=dict)  # "kind:value" → person index
    channel_lift: dict[str, float] = field(default_factory=dict)  # true multiplicative effect per touch
    conversions: int = 0
    revenue: float = 0.0
    shared_devices: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        return cls(**json.loads(path.read_text()))
