"""The single-writer identity stage: link messages → graph → identity map rows and decisions.
What a batch changed goes on to the live attribution stage (``streams.attribution.live``).

Its state is the identity map in ClickHouse: on start it reloads the current map, so a
restarted (or newly assigned) worker continues where the last one stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pyarrow as pa

from streams.errors import RefusedErasure
from streams.identity.erased import Erasures
from streams.identity.erasure import erase, reapply
from streams.identity.fresh import ErasedRoots, FreshGraph
from streams.identity.graph import MERGED, REFUSED_CRM, new_graph
from streams.identity.links import Links, Part
from streams.identity.shared import SHARED, SharedIdentifiers, refusal
from streams.identity.split import evidence, recompute
from streams.settings import Settings
from streams.store.backend import Backend

log = logging.getLogger("parcours")

_Decision = tuple[str, str, str, str, str, int]  # event, identifier a, b, decision, person, event time µs
Conversion = tuple[str, str, int]  # event, its first identifier, event time µs


class Persons(Protocol):
    """The graph as the stages after identity read it."""

    def person_of(self, identifier: str) -> str: ...
    def members(self, person_id: str) -> set[str]: ...


@dataclass(frozen=True, slots=True)
class Change:
    """What a batch changed in the identity map: the live attribution stage credits from it."""

    conversions: list[Conversion]  # the batch's conversions
    earliest: dict[str, int]  # first identifier of the batch's events → earliest event time µs
    merged: set[str]  # an identifier of each merge or split
    erased: set[str]  # event ids of persons erased in the batch
    persons: Persons
    stats: dict[str, int] = field(default_factory=dict)


def _parts(parts: Iterable[Part | Mapping[str, Any]]) -> Iterator[Part]:
    """``Links`` and controls in order; runs of link objects (the old wire form) become ``Links``."""
    run: list[Mapping[str, Any]] = []
    for part in parts:
        if isinstance(part, Links) or "control" in part:
            if run:
                yield Links.from_dicts(run)
                run = []
            yield part if isinstance(part, Links) else dict(part)
        else:
            run.append(part)
    if run:
        yield Links.from_dicts(run)


class IdentityStage:
    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        *,
        erasures: Erasures | None = None,
        publish: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``erasures``: the records read from the erasures topic, restored into a store that lacks
        them (a fresh store replaying the topics); ``publish`` writes a new erasure's record there."""
        self._s = settings
        self._b = backend
        self.erased = ErasedRoots()
        self.graph = FreshGraph(
            new_graph(max_ids_per_type=settings.max_ids_per_type, native=settings.native_decoder), self.erased
        )
        self._erasures = erasures
        self._publish = publish
        self._version = 0
        self.registry = SharedIdentifiers(
            persons=settings.shared_device_customers, window=timedelta(hours=settings.shared_device_window_h)
        )

    def _restore_erasures(self) -> None:
        if not self._erasures or not len(self._erasures):
            return
        have = {str(r["erasure_id"]) for r in self._b.query("SELECT erasure_id FROM erasures")}
        missing = [dict(r) for e, r in list(self._erasures.records.items()) if e not in have]
        for r in missing:
            for k in ("requested_at", "done_at"):
                r[k] = datetime.fromisoformat(str(r[k])).astimezone(UTC)
            r.setdefault("root_person_id", r["person_id"])
        # A store without a record the topic has predates the erasure (a restored backup, or a
        # fresh store): the person is erased again before the map is loaded.
        again = sum(reapply(self._b, r) for r in missing)
        if missing:
            self._b.insert("erasures", missing)
            log.warning(
                "identity stage: %d erasures restored from the erasures topic, %d rows erased again",
                len(missing),
                again,
            )

    def load(self) -> int:
        self._restore_erasures()
        self.erased.add_rows(
            self._b.query("SELECT erasure_id, person_id, root_person_id, requested_at FROM erasures FINAL")
        )
        rows = self._b.query(
            "SELECT identifier, argMax(person_id, version) AS person_id, argMax(verified, version) AS verified, "
            "max(version) AS v FROM identity_map GROUP BY identifier"
        )
        for r in rows:
            self.graph.load(r["identifier"], r["person_id"], bool(r["verified"]))
            self._version = max(self._version, int(r["v"]))
        self.graph.drain()
        self.registry.load(self._b)
        return len(rows)

    def _versions(self, n: int) -> int:
        """The first of ``n`` consecutive versions: monotonic across restarts (at least the wall
        clock in µs, always above what is stored)."""
        first = max(self._version + 1, int(datetime.now(UTC).timestamp() * 1e6))
        self._version = first + n - 1
        return first

    def process(self, parts: Iterable[Part | Mapping[str, Any]]) -> Change:
        """Link, in order, each part: ``Links``, a control (an erasure), or a link object (old wire
        form). Returns what changed, for the live attribution stage (``attribution.live``)."""
        now = datetime.now(UTC)
        decisions: list[_Decision] = []
        conversions: list[Conversion] = []
        via: dict[str, str] = {}
        earliest: dict[str, int] = {}  # first identifier of the batch's events → earliest event time µs
        merged: set[str] = set()  # an identifier of each merge
        batch = _Batch()
        erased: set[str] = set()  # event ids of erased persons
        mapped = 0
        for part in _parts(parts):
            if isinstance(part, Links):
                self._link(part, decisions, via, conversions, earliest, merged, batch)
            elif part.get("control") == "shared_devices" and _strings(part.get("devices")):
                for device in part["devices"]:  # `parcours load devices`
                    if self.registry.learn(f"device:{device}", "loaded"):
                        batch.shared.append(f"device:{device}")
            elif part.get("control") == "retract" and _strings([part.get("source")]):
                # a CRM record deleted, or without consent: what it linked is taken back
                batch.records[part["source"]] = ([], [])
                batch.retracted.add(part["source"])
            elif part.get("control") == "forget":
                # What came before the request is written first, then erased: the single writer's order.
                mapped += self._flush(decisions, via, now)
                decisions, via = [], {}
                gone = self._erased(part)
                conversions = [c for c in conversions if c[0] not in gone]
                erased |= gone
            else:
                log.warning("identity stage: unknown control message ignored: %.200s", part)
        mapped += self._flush(decisions, via, now)
        split = self._take_back(batch, now)
        for ident in split:
            earliest[ident] = 0
            merged.add(ident)
        mapped += len(split)
        return Change(
            conversions=conversions,
            earliest=earliest,
            merged=merged,
            erased=erased,
            persons=self.graph,
            stats={"mappings": mapped, "decisions": len(decisions), "split": len(split)},
        )

    def _link(
        self,
        links: Links,
        decisions: list[_Decision],
        via: dict[str, str],
        conversions: list[Conversion],
        earliest: dict[str, int],
        merged: set[str],
        batch: _Batch,
    ) -> None:
        """Each distinct group is linked once: a repeat of a group whose identifiers all ended in one
        person links nothing new and decides nothing (components only grow between controls), so
        only its refusals and conversion are per event. The audit table keeps the pairs that merged
        or were refused; the graph decides no others."""
        link_graph = self.graph.link
        groups = links.groups
        settled: set[int] = set()
        guarded: dict[int, tuple[tuple[str, ...], list[str]]] = {}  # group → identifiers the registry allows
        for g, event_id, us, conv in zip(
            links.group, links.event_id, links.event_time_us, links.conversion, strict=True
        ):
            ex = groups[g]
            hit = guarded.get(g)
            if hit is None:
                hit = guarded[g] = self._guard(ex.identifiers, ex.refused, us, batch)
            identifiers, shared = hit
            decisions += [(event_id, ident, "", reason, "", us) for ident, reason in ex.refused]
            decisions += [(event_id, ident, "", refusal(ident), "", us) for ident in shared]
            if event_id.startswith("crm:"):
                record = batch.records.setdefault(event_id, ([], []))
                record[0].append(list(identifiers))
                record[1].append(ex.verified_crm or "")
            if g not in settled:
                verified_crm = ex.verified_crm if ex.verified_crm in identifiers else None
                made = link_graph(identifiers, verified_crm)
                if made:
                    decisions += [(event_id, a, b, decision, pid, us) for a, b, decision, pid in made]
                    merged.update(a for a, _, decision, _ in made if decision == MERGED)
                    first = made[0]
                    if (
                        verified_crm
                        and first[2] == REFUSED_CRM
                        and first[0] == verified_crm
                        and (self.graph.person_of(first[0]) == self.graph.person_of(first[1]))
                    ):  # a CRM id verified inside a person that holds another: split, then link this event
                        batch.verified.append((identifiers, verified_crm))
                        batch.at_us = max(batch.at_us, us)
                    else:  # two verified persons met (a family cookie): who keeps what is decided in time order
                        contested = [(a, b) for a, b, decision, _ in made if decision == REFUSED_CRM]
                        if contested:
                            batch.contested += contested
                            batch.at_us = max(batch.at_us, us)
                if all(d[2] == MERGED for d in made):
                    settled.add(g)
                for ident in identifiers:
                    via.setdefault(ident, event_id)
            if identifiers:
                anchor = identifiers[0]
                if us < earliest.get(anchor, us + 1):
                    earliest[anchor] = us
                if conv:
                    conversions.append((event_id, anchor, us))

    def _guard(
        self, identifiers: tuple[str, ...], refused: Sequence[tuple[str, str]], us: int, batch: _Batch
    ) -> tuple[tuple[str, ...], list[str]]:
        """An event's identifiers without those the registry knows as shared, and those it removed.
        The registry learns first: a device this event flags, or what it makes shared by behaviour."""
        registry = self.registry
        learnt = [ident for ident, reason in refused if reason == SHARED and registry.learn(ident, "flagged")]
        learnt += registry.observe(identifiers, us)
        if learnt:
            batch.shared += learnt
            batch.at_us = max(batch.at_us, us)
        if not registry.known:
            return identifiers, []
        shared = [i for i in identifiers if i in registry]
        if not shared:
            return identifiers, []
        return tuple(i for i in identifiers if i not in registry), shared

    def _take_back(self, batch: _Batch, now: datetime) -> list[str]:
        """Links the batch withdrew: those of devices it found shared, and of CRM records it deleted
        or changed. The persons concerned are rebuilt from the evidence that still holds (new map
        versions, a ``split`` decision per part); returns one identifier of each part."""
        persons: dict[str, str] = {}  # person → why its links are taken back
        if batch.shared:
            self._b.insert("shared_identifiers", self.registry.rows(batch.shared))
            for d in batch.shared:
                if self.graph.size(self.graph.person_of(d)) > 1:
                    reason = "split_shared_device" if d.startswith("device:") else "split_junk"
                    persons.setdefault(self.graph.person_of(d), reason)
        if batch.records:
            for ident in self._record_evidence(batch, now):
                if self.graph.size(self.graph.person_of(ident)) > 1:
                    persons.setdefault(self.graph.person_of(ident), "split_crm_record")
        for _, crm in batch.verified:
            persons.setdefault(self.graph.person_of(crm), "split_crm_conflict")
        for a, b in batch.contested:
            persons.setdefault(self.graph.person_of(a), "split_crm_conflict")
            persons.setdefault(self.graph.person_of(b), "split_crm_conflict")
        if not persons:
            return []
        why = {m: reason for p, reason in persons.items() for m in self.graph.members(p)}
        members = set(why)
        current = self._b.query(
            "SELECT identifier, argMax(verified, version) AS verified, argMax(via_event, version) AS via "
            "FROM identity_map WHERE identifier IN {ids:Array(String)} GROUP BY identifier",
            {"ids": sorted(members)},
        )
        verified = {crm for _, crm in batch.verified} | {str(r["identifier"]) for r in current if int(r["verified"])}
        via = {str(r["identifier"]): str(r["via"]) for r in current}
        parts = recompute(
            members,
            evidence(self._b, members, without=batch.retracted),
            refused=self.registry.__contains__,
            verified=verified,
            cap=self._s.max_ids_per_type,
        )
        for p in persons:
            self.graph.forget(p)
        for part in parts:
            for m in part.members:
                self.graph.load(m, part.person_id, m in verified)
        us = batch.at_us or int(now.timestamp() * 1_000_000)
        decisions = [
            ("", min(part.members), "", why[min(part.members)], self.graph.person_of(min(part.members)), us)
            for part in parts
        ]
        for identifiers, crm in batch.verified:  # now that its CRM id stands apart, the login links
            made = self.graph.link(identifiers, crm)
            decisions += [("", a, b, decision, pid, us) for a, b, decision, pid in made]
        maps = {m: (m, self.graph.person_of(m), m in verified) for part in parts for m in part.members}
        maps.update((m[0], m) for m in self.graph.drain())
        self._write_maps(list(maps.values()), via, now, rule="split")
        self._write_decisions(decisions, now)
        log.info("identity stage: %d persons rebuilt into %d after links were taken back", len(persons), len(parts))
        return [min(part.members) for part in parts]

    def _record_evidence(self, batch: _Batch, now: datetime) -> set[str]:
        """Store each CRM record's groups: added to its earlier ones, or, after a retraction, in their
        place. Returns the identifiers of retracted groups the new ones no longer hold together."""
        old = {
            str(r["source_id"]): (list(r["groups"]), list(r["verified"]))
            for r in self._b.query(
                "SELECT source_id, groups, verified FROM identity_evidence FINAL WHERE source_id IN {s:Array(String)}",
                {"s": sorted(batch.records)},
            )
        }
        rows, withdrawn = [], set()
        first = self._versions(len(batch.records))
        for n, (src, (groups, verified)) in enumerate(sorted(batch.records.items())):
            before_groups, before_verified = old.get(src, ([], []))
            if src in batch.retracted:
                new = [set(g) for g in groups]
                for g in before_groups:
                    if len(g) > 1 and not any(set(g) <= h for h in new):
                        withdrawn |= set(g)
            else:  # a record loaded again adds what it links (one record may arrive in several messages)
                pairs = dict(zip(map(tuple, before_groups), before_verified, strict=True))
                pairs.update(zip(map(tuple, groups), verified, strict=True))
                groups, verified = [list(g) for g in pairs], list(pairs.values())
            rows.append({"source_id": src, "groups": groups, "verified": verified, "version": first + n})
        self._b.insert("identity_evidence", [{**r, "recorded_at": now} for r in rows])
        return withdrawn

    def _erased(self, msg: Mapping[str, Any]) -> set[str]:
        """Erase and return the event ids that went with the person (so no credit is written for them).
        An erasure already recorded is not done again: the links topic read anew (a new consumer
        group) replays its request, and by then the key may name a new person."""
        eid = str(msg.get("erasure_id", ""))
        if self._b.query("SELECT 1 AS done FROM erasures WHERE erasure_id = {e:String} LIMIT 1", {"e": eid}):
            log.info("identity stage: erasure %s already done; its request is not replayed", eid)
            return set()
        try:
            row = erase(
                self._b, self.graph, dict(msg), pepper=self._s.pepper(), root_of=self.erased.root, publish=self._publish
            )
        except RefusedErasure as err:  # a request no CLI sends (it checks the key first): nothing to erase
            log.warning("identity stage: erasure %s refused: %s", eid, err)
            return set()
        self.erased.add(row["root_person_id"], row["erasure_id"], row["requested_at"])
        return set(row.get("event_ids", ()))

    def _flush(self, decisions: list[_Decision], via: dict[str, str], now: datetime) -> int:
        maps = self.graph.drain()
        self._write_maps(maps, via, now)
        self._write_decisions(decisions, now)
        return len(maps)

    def _write_maps(
        self, maps: Sequence[tuple[str, str, bool]], via: Mapping[str, str], now: datetime, *, rule: str = ""
    ) -> None:
        # Columns, not row dicts: as Arrow these inserts cost a fraction of JSON rows.
        if not maps:
            return
        first = self._versions(len(maps))
        size = self.graph.size
        self._b.insert_arrow(
            "identity_map",
            pa.table(
                [
                    [m[0] for m in maps],
                    [m[1] for m in maps],
                    pa.array(range(first, first + len(maps)), pa.uint64()),
                    pa.array([now] * len(maps), _TS),
                    [rule or ("linked" if size(m[1]) > 1 else "seen") for m in maps],
                    pa.array([int(m[2]) for m in maps], pa.uint8()),
                    [via.get(m[0], "") for m in maps],
                ],
                schema=_MAP_SCHEMA,
            ),
        )

    def _write_decisions(self, decisions: Sequence[_Decision], now: datetime) -> None:
        if decisions:
            cols = list(zip(*decisions, strict=True))
            decided = pa.array([now] * len(decisions), _TS)
            self._b.insert_arrow(
                "identity_links",
                pa.table([*cols[:5], decided, pa.array([us // 1000 for us in cols[5]], _TS)], schema=_LINKS_SCHEMA),
            )


def _strings(value: Any) -> bool:
    """A control message's list of ids: a non-empty list of non-empty strings (else it is ignored)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


class _Batch:
    """What a batch asks the stage to take back once it is linked."""

    def __init__(self) -> None:
        self.shared: list[str] = []  # devices that became shared
        self.records: dict[str, tuple[list[list[str]], list[str]]] = {}  # CRM record → (groups, verified)
        self.retracted: set[str] = set()  # CRM records deleted (or without consent) in the batch
        # events whose CRM id became verified inside a person holding another verified one
        self.verified: list[tuple[tuple[str, ...], str]] = []
        self.contested: list[tuple[str, str]] = []  # identifiers of two verified persons an event joined
        self.at_us = 0  # the latest event that asked for a split (its time stamps the split decisions)


_TS = pa.timestamp("ms", tz="UTC")
# Typed like 003_identity.sql (a test compares them with DESCRIBE TABLE).
_MAP_SCHEMA = pa.schema(
    [
        ("identifier", pa.string()),
        ("person_id", pa.string()),
        ("version", pa.uint64()),
        ("linked_at", _TS),
        ("rule", pa.string()),
        ("verified", pa.uint8()),
        ("via_event", pa.string()),
    ]
)
_LINKS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("identifier_a", pa.string()),
        ("identifier_b", pa.string()),
        ("decision", pa.string()),
        ("person_id", pa.string()),
        ("decided_at", _TS),
        ("event_time", _TS),
    ]
)
