"""Taking links back: a person's components recomputed from the evidence that still holds.

A graph of unions cannot remove an edge, so when evidence is withdrawn — a device found to be
shared after it linked customers, a CRM record deleted or changed — the identity stage rebuilds
the persons concerned from what remains: every stored event that carries their identifiers, every
merge recorded, and every CRM record's groups, without the identifiers now refused, linked under the same guards in
event time order. Person ids stay canonical (the smallest member's singleton id), so the parts are
the persons an in-order replay of the remaining evidence would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from streams.identity.graph import IdentityGraph
from streams.identity.identifiers import kind_of
from streams.store.backend import Backend


class Part(NamedTuple):
    person_id: str  # the graph's (root) id of the part
    members: frozenset[str]


def evidence(
    backend: Backend, members: Iterable[str], *, without: AbstractSet[str] = frozenset()
) -> list[tuple[list[str], str | None]]:
    """(identifiers, verified CRM id) of what linked ``members``, in event time order: every stored
    event that names one of them, every merge the stage recorded (events may have expired, and a
    merge is evidence too), then every CRM record's groups (loaded as of now). ``without``: sources
    (CRM records) withdrawn, whose merges no longer count."""
    ids = sorted(set(members))
    rows = backend.query(
        "SELECT identifiers, toUnixTimestamp64Milli(event_time) AS ms, toString(event_id) AS e FROM events_dedup "
        "WHERE hasAny(identifiers, {ids:Array(String)}) "
        "UNION ALL SELECT [identifier_a, identifier_b], toUnixTimestamp64Milli(event_time), event_id "
        "FROM identity_links WHERE decision = 'merged' "
        "AND (identifier_a IN {ids:Array(String)} OR identifier_b IN {ids:Array(String)}) "
        "AND event_id NOT IN {without:Array(String)} "
        # a CRM record deleted earlier: its groups are empty now, and its merges no longer count
        "AND event_id NOT IN (SELECT source_id FROM identity_evidence FINAL WHERE empty(groups))",
        {"ids": ids, "without": sorted(without)},
    )
    rows.sort(key=lambda r: (int(r["ms"]), str(r["e"])))  # ties by event id: the same order whatever arrived first
    out: list[tuple[list[str], str | None]] = [(list(r["identifiers"]), None) for r in rows]
    records = backend.query(
        "SELECT groups, verified FROM identity_evidence FINAL "
        "WHERE arrayExists(g -> hasAny(g, {ids:Array(String)}), groups)",
        {"ids": ids},
    )
    for r in records:
        out += [(list(g), v or None) for g, v in zip(r["groups"], r["verified"], strict=True)]
    return out


def recompute(
    members: set[str],
    found: Iterable[tuple[list[str], str | None]],
    *,
    refused: Callable[[str], bool],
    verified: set[str],
    cap: int,
) -> list[Part]:
    """The persons ``members`` form on ``found`` without the identifiers ``refused`` says no to.
    A CRM id verified anywhere is verified wherever it appears (the map keeps one flag an identifier)."""
    g = IdentityGraph(max_ids_per_type=cap)
    for ids, crm in found:
        kept = [i for i in ids if i in members and not refused(i)]
        if not kept:
            continue
        crm = crm or next((i for i in kept if kind_of(i) == "crm" and i in verified), None)
        g.link(kept, crm if crm in kept else None)
    parts: dict[str, set[str]] = {}
    for m in members:
        parts.setdefault(g.person_of(m), set()).add(m)
    return [Part(pid, frozenset(ms)) for pid, ms in parts.items()]
