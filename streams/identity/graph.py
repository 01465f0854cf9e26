"""The identity graph: union-find over identifiers, with the guards that keep it honest.

Owned by exactly one writer (the identity stage on a one-partition topic), so merges never
race. Person ids are canonical — the singleton id of the smallest identifier in the
component — so the final map does not depend on the order links arrived in, and one or
several upstream workers give the same map. On a merge only the members of the component
whose id changes are re-mapped (new versions), never the events themselves.

Guards (each refusal is a recorded decision, shown as an ingestion warning):
- two components that each hold a *different verified* CRM id are never merged, and a CRM id does not
  become verified inside a person that holds another verified one (that event links nothing);
- a merge that would give a person more than ``max_ids_per_type`` identifiers of one kind is refused;
- shared devices and junk values never get here (``identifiers.extract`` refuses them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, cast

from streams.identity.identifiers import kind_of, singleton_person

MERGED = "merged"
REFUSED_CRM = "refused_crm_conflict"
REFUSED_CAP = "refused_cap"


@dataclass(slots=True)
class Component:
    members: set[str] = field(default_factory=set)
    verified: set[str] = field(default_factory=set)
    kinds: dict[str, int] = field(default_factory=dict)  # identifiers per kind (the cap)
    least: str = ""  # the smallest member, whose singleton id is the component's (kept, not searched)


class Decision(NamedTuple):  # tuples: the native graph returns the same shape
    a: str
    b: str
    decision: str
    person_id: str


class Mapping(NamedTuple):
    identifier: str
    person_id: str
    verified: bool


class Graph(Protocol):
    """What the identity stage asks of a graph: ``IdentityGraph`` here, or the native one."""

    def person_of(self, identifier: str) -> str: ...
    def members(self, person_id: str) -> set[str]: ...
    def size(self, person_id: str) -> int: ...
    def __len__(self) -> int: ...
    def load(self, identifier: str, person_id: str, verified: bool) -> None: ...
    def link(
        self, identifiers: Sequence[str], verified_crm: str | None = None
    ) -> Sequence[tuple[str, str, str, str]]: ...
    def drain(self) -> Sequence[tuple[str, str, bool]]: ...
    def forget(self, person_id: str) -> set[str]: ...


def new_graph(*, max_ids_per_type: int = 10, native: bool = True) -> Graph:
    """The native graph (``streams/native/src/graph.rs``: identifiers interned as integers, several
    times faster on one core; ``make bench`` reports both) when built, else ``IdentityGraph``.
    Both decide alike: ``tests/identity/test_native_graph.py`` replays random operations on both
    and compares every answer."""
    from streams import native as built

    graph = built.Graph(max_ids_per_type=max_ids_per_type) if native and built.AVAILABLE else None
    return cast(Graph, graph) if graph is not None else IdentityGraph(max_ids_per_type=max_ids_per_type)


class IdentityGraph:
    def __init__(self, *, max_ids_per_type: int = 10) -> None:
        self._cap = max_ids_per_type
        self._person: dict[str, str] = {}  # identifier → person id
        self._comp: dict[str, Component] = {}  # person id → component
        self._dirty: dict[str, Mapping] = {}

    # --- reading ---
    def person_of(self, identifier: str) -> str:
        return self._person.get(identifier) or singleton_person(identifier)

    def members(self, person_id: str) -> set[str]:
        comp = self._comp.get(person_id)
        return set(comp.members) if comp else set()

    def size(self, person_id: str) -> int:
        """Identifiers in the person's component (1 for an identifier nobody linked)."""
        comp = self._comp.get(person_id)
        return len(comp.members) if comp else 1

    def __len__(self) -> int:
        return len(self._comp)

    # --- loading (restart) ---
    def load(self, identifier: str, person_id: str, verified: bool) -> None:
        self._person[identifier] = person_id
        comp = self._comp.setdefault(person_id, Component(least=identifier))
        if identifier not in comp.members:
            comp.least = min(comp.least, identifier)
            comp.members.add(identifier)
            kind = kind_of(identifier)
            comp.kinds[kind] = comp.kinds.get(kind, 0) + 1
        if verified:
            comp.verified.add(identifier)

    # --- writing ---
    def _ensure(self, identifier: str, verified: bool) -> str:
        pid = self._person.get(identifier)
        if pid is None:
            pid = singleton_person(identifier)
            self._person[identifier] = pid
            self._comp[pid] = Component(
                {identifier}, {identifier} if verified else set(), {kind_of(identifier): 1}, identifier
            )
            self._dirty[identifier] = Mapping(identifier, pid, verified)
        elif verified and identifier not in self._comp[pid].verified:
            self._comp[pid].verified.add(identifier)
            self._dirty[identifier] = Mapping(identifier, pid, True)
        return pid

    def link(self, identifiers: Sequence[str], verified_crm: str | None = None) -> list[Decision]:
        """Link the identifiers of one event. Returns the decisions that merged or refused a pair:
        a pair already in one component changes nothing and is most pairs on a returning person,
        so it makes no Decision (the identity stage ran markedly faster without them)."""
        if not identifiers:
            return []
        person = self._person
        if verified_crm is not None and verified_crm in person:
            # A CRM id that becomes verified inside a person that already holds another verified
            # one (it came in unverified, on a shared cookie): the conflict rule holds, the link is refused.
            pid = person[verified_crm]
            others = self._comp[pid].verified - {verified_crm}
            if others:
                return [Decision(verified_crm, min(others), REFUSED_CRM, pid)]
        decisions = []
        anchor = identifiers[0]
        if anchor not in person or anchor == verified_crm:
            self._ensure(anchor, anchor == verified_crm)
        for other in identifiers[1:]:
            if other not in person or other == verified_crm:
                self._ensure(other, other == verified_crm)
            if person[anchor] != person[other]:
                decisions.append(self._union(anchor, other))
        return decisions

    def _union(self, a: str, b: str) -> Decision:
        pa, pb = self._person[a], self._person[b]
        ca, cb = self._comp[pa], self._comp[pb]
        if ca.verified and cb.verified and ca.verified != cb.verified:
            return Decision(a, b, REFUSED_CRM, pa)
        kinds_a = ca.kinds
        if any(kinds_a.get(kind, 0) + n > self._cap for kind, n in cb.kinds.items()):
            return Decision(a, b, REFUSED_CAP, pa)
        # The canonical id is the smallest member's: the component holding it keeps its id.
        keep, gone = (pa, pb) if ca.least < cb.least else (pb, pa)
        ck, cg = self._comp[keep], self._comp.pop(gone)
        ck.least = min(ck.least, cg.least)
        ck.members |= cg.members
        ck.verified |= cg.verified
        for kind, n in cg.kinds.items():
            ck.kinds[kind] = ck.kinds.get(kind, 0) + n
        for ident in cg.members:
            self._person[ident] = keep
            self._dirty[ident] = Mapping(ident, keep, ident in ck.verified)
        return Decision(a, b, MERGED, keep)

    def drain(self) -> list[Mapping]:
        """Mappings changed since the last drain (to be written with a new version)."""
        out = list(self._dirty.values())
        self._dirty.clear()
        return out

    def forget(self, person_id: str) -> set[str]:
        """Remove a person (erasure). Returns the identifiers it held."""
        comp = self._comp.pop(person_id, None)
        if comp is None:
            return set()
        for ident in comp.members:
            self._person.pop(ident, None)
            self._dirty.pop(ident, None)
        return comp.members
