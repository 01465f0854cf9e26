"""Fresh person ids after an erasure: an erased person's id never comes back.

Person ids are the singleton id of a component's smallest identifier, so a forgotten identifier
seen again would derive the erased id. The id a graph derives (its *root*) is replaced, when that
root was erased, by ``fresh_person(root, latest erasure of root)``; the view ``events_stitched``
(schemas/clickhouse/008_erased_persons.sql) computes the same for identifiers nobody mapped.
Salting with the *latest* erasure keeps it one step: a fresh id erased in its turn records the
same root, and the next fresh id is salted with that later erasure.

This is done around the graph (``FreshGraph``), so the Python and the Rust graph stay as they
are and keep deciding alike; they only ever see root ids or ids loaded from the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from streams.identity.graph import Graph


def fresh_person(root: str, erasure_id: str) -> str:
    """The id a person derived as ``root`` gets after the erasure ``erasure_id`` (the view's SQL)."""
    return "p" + hashlib.sha256(f"{root}|{erasure_id}".encode()).hexdigest()[:16]


class ErasedRoots:
    """Root ids that were erased, each with its latest erasure, and every fresh id handed out."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[datetime, str]] = {}  # root → (requested at, erasure id)
        self.root_of: dict[str, str] = {}  # fresh id → root (every erasure's, not only the latest)

    def add(self, root: str, erasure_id: str, requested_at: datetime | str) -> None:
        at = datetime.fromisoformat(requested_at) if isinstance(requested_at, str) else requested_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        self.root_of[fresh_person(root, erasure_id)] = root
        if root not in self.latest or (at, erasure_id) > self.latest[root]:
            self.latest[root] = (at, erasure_id)

    def add_rows(self, rows: Iterable[dict[str, object]]) -> None:
        for r in rows:
            at = r["requested_at"]
            root = str(r["root_person_id"] or r["person_id"])
            self.add(root, str(r["erasure_id"]), at if isinstance(at, datetime) else str(at))

    def root(self, person_id: str) -> str:
        """The id ``person_id`` was derived from (itself unless it is a fresh id)."""
        return self.root_of.get(person_id, person_id)

    def current(self, derived: str) -> str:
        hit = self.latest.get(derived)
        return fresh_person(derived, hit[1]) if hit else derived


class FreshGraph:
    """A ``Graph`` whose person ids out are fresh where the graph's own were erased. Ids in (a
    person to read or forget) are mapped back to the graph's; ids loaded from the store are
    already the ones to keep, so they pass through."""

    def __init__(self, graph: Graph, erased: ErasedRoots) -> None:
        self.inner = graph
        self.erased = erased
        self._back: dict[str, str] = {}  # fresh id handed out → the graph's id for it

    def _out(self, pid: str) -> str:
        if not self.erased.latest:  # no erasure: no cost
            return pid
        out = self.erased.current(pid)
        if out != pid:
            self._back[out] = pid
        return out

    def _in(self, pid: str) -> str:
        return self._back.get(pid, pid)

    def person_of(self, identifier: str) -> str:
        return self._out(self.inner.person_of(identifier))

    def members(self, person_id: str) -> set[str]:
        return self.inner.members(self._in(person_id))

    def size(self, person_id: str) -> int:
        return self.inner.size(self._in(person_id))

    def __len__(self) -> int:
        return len(self.inner)

    def load(self, identifier: str, person_id: str, verified: bool) -> None:
        self.inner.load(identifier, person_id, verified)

    def link(self, identifiers: Sequence[str], verified_crm: str | None = None) -> Sequence[tuple[str, str, str, str]]:
        made = self.inner.link(identifiers, verified_crm)
        if not made or not self.erased.latest:
            return made
        return [(a, b, decision, self._out(pid)) for a, b, decision, pid in made]

    def drain(self) -> Sequence[tuple[str, str, bool]]:
        maps = self.inner.drain()
        if not maps or not self.erased.latest:
            return maps
        return [(ident, self._out(pid), verified) for ident, pid, verified in maps]

    def forget(self, person_id: str) -> set[str]:
        inner = self._in(person_id)
        self._back.pop(person_id, None)
        return self.inner.forget(inner)
