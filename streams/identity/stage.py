"""The single-writer identity stage: link messages → graph → identity map rows, decisions,
and live credits for the conversions in the batch.

Its state is the identity map in ClickHouse: on start it reloads the current map, so a
restarted (or newly assigned) worker continues where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.attribution.credits import credit_rows
from streams.identity.erasure import erase
from streams.identity.graph import ALREADY, IdentityGraph
from streams.journeys.build import build_journeys
from streams.journeys.query import timelines_for_identifiers
from streams.settings import Settings
from streams.store.backend import Backend


class IdentityStage:
    def __init__(self, settings: Settings, backend: Backend) -> None:
        self._s = settings
        self._b = backend
        self.graph = IdentityGraph(max_ids_per_type=settings.max_ids_per_type)
        self._version = 0

    def load(self) -> int:
        rows = self._b.query(
            "SELECT identifier, argMax(person_id, version) AS person_id, argMax(verified, version) AS verified, "
            "max(version) AS v FROM identity_map GROUP BY identifier"
        )
        for r in rows:
            self.graph.load(r["identifier"], r["person_id"], bool(r["verified"]))
            self._version = max(self._version, int(r["v"]))
        self.graph.drain()
        return len(rows)

    def _next_version(self) -> int:
        # Monotonic across restarts: at least the wall clock in µs, always above what is stored.
        self._version = max(self._version + 1, int(datetime.now(UTC).timestamp() * 1e6))
        return self._version

    def process(self, links: Sequence[dict[str, Any]], *, live_credits: bool = True) -> dict[str, int]:
        now = datetime.now(UTC)
        decisions: list[dict[str, Any]] = []
        conversions: list[dict[str, Any]] = []
        via: dict[str, str] = {}
        mapped = 0
        for link in links:
            if link.get("control") == "forget":
                # What came before the request is written first, then erased: the single writer's order.
                mapped += self._flush(decisions, via, now)
                decisions, via = [], {}
                erased = self._erased(link)
                conversions = [c for c in conversions if c["event_id"] not in erased]
                continue
            et = datetime.fromisoformat(link["event_time"]).astimezone(UTC)
            decisions += [
                _decision(link["event_id"], ident, "", reason, "", now, et) for ident, reason in link.get("refused", ())
            ]
            # "already linked" is most pairs on a returning person and changes nothing: the
            # audit table keeps the decisions that merged or refused (70% fewer rows to write).
            decisions += [
                _decision(link["event_id"], d.a, d.b, d.decision, d.person_id, now, et)
                for d in self.graph.link(list(link["identifiers"]), link.get("verified_crm"))
                if d.decision != ALREADY
            ]
            for ident in link["identifiers"]:
                via.setdefault(ident, link["event_id"])
            if link.get("conversion") and link["identifiers"]:
                conversions.append(link)
        mapped += self._flush(decisions, via, now)
        credited = self._live_credits(conversions, now) if conversions and live_credits else 0
        return {"mappings": mapped, "decisions": len(decisions), "credited": credited}

    def _erased(self, msg: dict[str, Any]) -> set[str]:
        """Erase and return the event ids that went with the person (so no credit is written for them)."""
        row = erase(self._b, self.graph, msg)
        return set(row.get("event_ids", ()))

    def _flush(self, decisions: list[dict[str, Any]], via: dict[str, str], now: datetime) -> int:
        maps = [
            {
                "identifier": m.identifier,
                "person_id": m.person_id,
                "version": self._next_version(),
                "linked_at": now,
                "rule": "linked" if len(self.graph.members(m.person_id)) > 1 else "seen",
                "verified": int(m.verified),
                "via_event": via.get(m.identifier, ""),
            }
            for m in self.graph.drain()
        ]
        self._b.insert("identity_map", maps)
        self._b.insert("identity_links", decisions)
        return len(maps)

    def _live_credits(self, conversions: Sequence[dict[str, Any]], now: datetime) -> int:
        lookback = timedelta(days=self._s.lookback_days)
        wanted = {c["event_id"] for c in conversions}
        persons = {self.graph.person_of(c["identifiers"][0]) for c in conversions}
        person_of = {i: p for p in persons for i in (self.graph.members(p) or {p})}
        earliest = min(datetime.fromisoformat(c["event_time"]) for c in conversions) - lookback
        journeys = [
            j
            for tl in timelines_for_identifiers(self._b, person_of, since=earliest)
            for j in build_journeys(tl, lookback=lookback, include_null=False)
            if j.conversion and j.conversion.event_id in wanted
        ]
        jrows, crows = credit_rows(
            journeys, self._s.live_models, source="live", half_life=timedelta(days=self._s.half_life_days), now=now
        )
        self._b.insert("journeys", jrows)
        self._b.insert("attribution_credits", crows)
        return len(jrows)


def _decision(
    event_id: str, a: str, b: str, decision: str, person: str, now: datetime, event_time: datetime
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "identifier_a": a,
        "identifier_b": b,
        "decision": decision,
        "person_id": person,
        "decided_at": now,
        "event_time": event_time,
    }
