"""Identity links as columns: what ingest hands the single-writer identity stage.

A link says "these identifiers were seen together on event E at time T" (and whether E converts).
A person's events repeat the same identities — a visit's page views, a fitting-room session — so a
batch of links is a few distinct identifier *groups* (``Extracted``) and, per link, an index into
them (on the bench corpus, about one distinct group for every three or four links). Ingest builds these
columns without a Python object per link, the links topic carries them as one JSON object per chunk,
and the identity stage links each distinct group once per chunk instead of once per event.

Wire form (one message, ``LINKS_FORMAT``)::

    {"format": 2, "groups": [[identifiers, refused, verified_crm], ...],
     "group": [...], "event_id": [...], "event_time_us": [...], "conversion": [0|1, ...]}

Messages written before this form (a JSON list of link objects, or one object) are still read
(``from_dicts``), so a links backlog survives an upgrade. A control message (``{"control": ...}``,
e.g. an erasure) stays an object of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streams.identity.identifiers import Extracted

LINKS_FORMAT = 2
# Links per message. Identifiers near their length limit (7 of 128 four-byte characters a link)
# would pass the broker's 1 MB message limit: ``messages`` splits those.
LINKS_PER_MESSAGE = 500
MAX_MESSAGE_BYTES = 900_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(slots=True)
class Links:
    """Columns, one entry per link, and the groups they index (``group[i]`` into ``groups``)."""

    groups: list[Extracted] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    event_id: list[str] = field(default_factory=list)
    event_time_us: list[int] = field(default_factory=list)  # µs since the epoch, UTC
    conversion: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.event_id)

    def extend(self, other: Links) -> None:
        base = len(self.groups)
        self.groups += other.groups
        self.group += [g + base for g in other.group]
        self.event_id += other.event_id
        self.event_time_us += other.event_time_us
        self.conversion += other.conversion

    def take(self, rows: Sequence[int]) -> Links:
        """The links at ``rows``, with only the groups they use."""
        index: dict[int, int] = {}
        groups: list[Extracted] = []
        group = []
        for r in rows:
            g = self.group[r]
            at = index.get(g)
            if at is None:
                at = index[g] = len(groups)
                groups.append(self.groups[g])
            group.append(at)
        return Links(
            groups,
            group,
            [self.event_id[r] for r in rows],
            [self.event_time_us[r] for r in rows],
            [self.conversion[r] for r in rows],
        )

    def without(self, event_ids: set[str]) -> Links:
        return self.take([i for i, e in enumerate(self.event_id) if e not in event_ids])

    def dicts(self) -> list[dict[str, Any]]:
        """One object per link: the readable form (tests, offline runs, the old wire form)."""
        out = []
        for g, event_id, us, conv in zip(self.group, self.event_id, self.event_time_us, self.conversion, strict=True):
            ex = self.groups[g]
            out.append(
                {
                    "event_id": event_id,
                    "identifiers": list(ex.identifiers),
                    "refused": [list(r) for r in ex.refused],
                    "verified_crm": ex.verified_crm,
                    "event_time": event_time(us).isoformat(),
                    "conversion": conv,
                }
            )
        return out

    def messages(self, per_message: int = LINKS_PER_MESSAGE) -> list[bytes]:
        """The links as wire messages of at most ``per_message`` links and ``MAX_MESSAGE_BYTES``."""
        out: list[bytes] = []
        for start in range(0, len(self), per_message):
            part = self if len(self) <= per_message else self.take(range(start, min(start + per_message, len(self))))
            raw = part._encode()
            if len(raw) > MAX_MESSAGE_BYTES and len(part) > 1:
                out += part.messages(max(1, len(part) // 2))  # identifiers near their length limit
            else:
                out.append(raw)
        return out

    def _encode(self) -> bytes:
        return orjson.dumps(
            {
                "format": LINKS_FORMAT,
                "groups": [[g.identifiers, g.refused, g.verified_crm] for g in self.groups],
                "group": self.group,
                "event_id": self.event_id,
                "event_time_us": self.event_time_us,
                "conversion": self.conversion,
            }
        )

    @classmethod
    def from_dicts(cls, links: Iterable[Mapping[str, Any]]) -> Links:
        """From link objects (the old wire form): identical groups are shared."""
        out = cls()
        index: dict[Extracted, int] = {}
        for link in links:
            ex = Extracted(
                tuple(link["identifiers"]),
                tuple((str(i), str(r)) for i, r in link.get("refused") or ()),
                link.get("verified_crm"),
            )
            g = index.get(ex)
            if g is None:
                g = index[ex] = len(out.groups)
                out.groups.append(ex)
            out.group.append(g)
            out.event_id.append(str(link["event_id"]))
            out.event_time_us.append((datetime.fromisoformat(link["event_time"]).astimezone(UTC) - _EPOCH) // _US)
            out.conversion.append(bool(link.get("conversion")))
        return out


Part = Links | dict[str, Any]  # what the identity stage processes, in order: links, or a control


def parse_message(raw: bytes) -> Part:
    """A links-topic message: ``Links``, or a control object. Raises ValueError on anything else."""
    try:
        return _parse(orjson.loads(raw))  # orjson's decode error is a ValueError
    except (KeyError, TypeError, IndexError, ValueError) as err:  # not JSON, a field missing or ill-typed
        raise ValueError(f"links message: {type(err).__name__}: {err}") from err


def _parse(value: Any) -> Part:
    if isinstance(value, dict) and value.get("format") == LINKS_FORMAT:
        groups = [
            Extracted(tuple(ids), tuple((i, r) for i, r in refused), crm) for ids, refused, crm in value["groups"]
        ]
        links = Links(groups, value["group"], value["event_id"], value["event_time_us"], value["conversion"])
        if not len(links.group) == len(links.event_id) == len(links.event_time_us) == len(links.conversion):
            raise ValueError("columns of different lengths")
        if links.group and not 0 <= min(links.group) <= max(links.group) < len(groups):
            raise ValueError("a group index out of range")
        # Typed as the stage and the native graph read them: a wrong type must not reach them.
        if not (
            all(isinstance(i, str) for g in groups for i in (*g.identifiers, *(x for r in g.refused for x in r)))
            and all(g.verified_crm is None or isinstance(g.verified_crm, str) for g in groups)
            and all(isinstance(e, str) for e in links.event_id)
            and all(isinstance(t, int) for t in links.event_time_us)
            and all(isinstance(g, int) for g in links.group)
        ):
            raise ValueError("a value of the wrong type")
        return links
    if isinstance(value, dict) and "control" in value:
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return Links.from_dicts(value)
    raise ValueError(f"unexpected {type(value).__name__}")


def event_time(us: int) -> datetime:
    return _EPOCH + us * _US
