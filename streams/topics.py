"""Topic names, partition counts and keys.

Keying: raw events are keyed by their routing identifier (see ``routing_key``), so one
person's events from one device keep their order within a partition. Identity links go to a
single-partition topic: the identity stage is the only writer of the identity map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CHANNELS = ("web", "social", "tv", "store")
_AGENTS = ("dead_letters", "identity")  # the stages that run as Faust agents (ingest does not)


def ingest_group(app_id: str) -> str:
    """Consumer group of the raw topics' batch consumer (``streams.ingest.consumer``); the
    Faust agents (dead letters, identity) consume as the group ``app_id``."""
    return f"{app_id}.ingest"


def agents_group(app_id: str, stages: Iterable[str]) -> str:
    """Consumer group (Faust app id) of the agents a worker runs. Faust's assignor gives every
    member of a group partitions of every topic the group reads, so workers that run different
    agents must not share one: a worker running both keeps ``app_id`` (the default, unchanged),
    one running only the identity stage is ``<app_id>.identity``, and so on."""
    wanted = set(stages)
    agents = [a for a in _AGENTS if a in wanted]
    return app_id if len(agents) == len(_AGENTS) else f"{app_id}.{'.'.join(agents) or 'no-agents'}"


def agents_groups(app_id: str) -> tuple[str, ...]:
    """Every group the agents of ``app_id``'s workers may commit in, whatever their stages."""
    return tuple(agents_group(app_id, s) for s in (_AGENTS, *((a,) for a in _AGENTS)))


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

    @property
    def erasures(self) -> str:
        """Erasure records, compacted and never expired: they outlive every store (``identity.erased``)."""
        return f"{self.prefix}.erasures"

    @property
    def with_identifiers(self) -> tuple[str, ...]:
        """The topics that carry people's identifiers: bounded retention (``topic_retention_days``)."""
        return (*self.all_raw, self.dead_letters, self.identity_links)
