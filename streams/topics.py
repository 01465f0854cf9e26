"""Topic names, partition counts and keys.

Keying: raw events are keyed by their routing identifier (see ``routing_key``), so one
person's events from one device keep their order within a partition. Identity links go to a
single-partition topic: the identity stage is the only writer of the identity map.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("web", "social", "tv", "store")


def ingest_group(app_id: str) -> str:
    """Consumer group of the raw topics' batch consumer (``streams.ingest.consumer``); the
    Faust agents (dead letters, identity) consume as the group ``app_id``."""
    return f"{app_id}.ingest"


@dataclass(frozen=True, kw_only=True)
class TopicNames:
    prefix: str

    def raw(self, channel: str) -> str:
        return f"{self.prefix}.raw.{channel}"

    @property
    def all_raw(self) -> tuple[str, ...]:
        return tuple(self.raw(c) for c in CHANNELS)

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.dead-letters"

    @property
    def identity_links(self) -> str:
        return f"{self.prefix}.identity-links"
