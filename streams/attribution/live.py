"""Live attribution: each conversion credited as its links reach the identity stage, and again
whenever its person's history changes (a merge, a split, a late touch), with the rule-based
models of ``settings.live_models``. Conversions no identifier can ever link are credited
"no linked touchpoint" as they are stored (``credit_unlinked``, called by the ingest stage).

It runs after the identity stage in the same single writer: a person's history is read through
the identity map the stage just wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from streams.attribution.credits import credit_tables
from streams.attribution.unlinked import unlinked_credit_tables
from streams.identity.stage import Change, Conversion, Persons
from streams.journeys.build import build_journeys
from streams.journeys.query import Span, histories_for_conversions
from streams.settings import Settings
from streams.store.backend import Backend


class LiveCredits:
    def __init__(self, settings: Settings, backend: Backend) -> None:
        self._s = settings
        self._b = backend
        # Every conversion credited, by its first identifier: when a merge (or a late event)
        # changes a person's history, its conversions are credited again.
        self._conversions: dict[str, list[Conversion]] = {}
        # Their event ids: a conversion sent again is one credited before, whatever identifier
        # it is now filed under (a guard may have removed its first one since).
        self._credited: set[str] = set()

    def load(self) -> None:
        """The conversions stored so far (a restarted worker credits them again on a change)."""
        self._conversions.clear()
        self._credited.clear()
        for r in self._b.query(
            "SELECT DISTINCT primary_identifier AS id, toString(event_id) AS e, "
            "toUnixTimestamp64Milli(event_time) AS ms FROM touches_by_identifier WHERE is_conversion = 1"
        ):
            self._remember((r["e"], r["id"], int(r["ms"]) * 1000))

    def credit(self, change: Change) -> dict[str, int]:
        """Credit the batch's conversions and those whose journey it changed."""
        now = datetime.now(UTC)
        self._drop(change.erased)
        conversions = change.conversions
        # a conversion credited before (sent again, after a restart) may hold channels it no longer earns
        resent = {c[0] for c in conversions if c[0] in self._credited}
        for c in conversions:
            self._remember(c)
        again = self._affected(change, {c[0] for c in conversions})
        credited, read = (
            self._credit(change.persons, conversions + again, now, again={c[0] for c in again} | resent)
            if conversions or again
            else (0, 0)
        )
        return {"credited": credited, "recredited": len(again), "history_read": read}

    def _remember(self, conversion: Conversion) -> None:
        held = self._conversions.setdefault(conversion[1], [])
        if conversion not in held:
            held.append(conversion)
        self._credited.add(conversion[0])

    def _affected(self, change: Change, batch: set[str]) -> list[Conversion]:
        """Stored conversions whose journey the batch changed: every conversion of a person a merge
        made (the other side's touches may precede any of them), and those within the lookback
        after a batch event of the person (a touch or a conversion that arrived late)."""
        person_of, members = change.persons.person_of, change.persons.members
        window = int(timedelta(days=self._s.lookback_days) / timedelta(microseconds=1))
        since: dict[str, int] = {}
        idents: dict[str, set[str]] = {}
        for ident, us in change.earliest.items():
            p = person_of(ident)
            since[p] = min(us, since.get(p, us))
            idents.setdefault(p, set()).add(ident)
        whole = {person_of(i) for i in change.merged}
        out: dict[str, Conversion] = {}
        for p, first in since.items():
            for ident in members(p) | idents[p]:
                for c in self._conversions.get(ident, ()):
                    if c[0] not in batch and (p in whole or first <= c[2] <= first + window):
                        out[c[0]] = c
        return list(out.values())

    def _drop(self, event_ids: set[str]) -> None:
        if event_ids:
            self._credited -= event_ids
            for ident, held in list(self._conversions.items()):
                kept = [c for c in held if c[0] not in event_ids]
                if kept:
                    self._conversions[ident] = kept
                else:
                    del self._conversions[ident]

    def _credit(
        self,
        persons: Persons,
        conversions: Sequence[Conversion],
        now: datetime,
        *,
        again: AbstractSet[str] = frozenset(),
    ) -> tuple[int, int]:
        """(journeys credited, events read for them). ``again``: conversions credited before, whose
        channels that no longer earn credit are written as 0 (rows are replaced per channel)."""
        lookback = timedelta(days=self._s.lookback_days)
        wanted = {event_id for event_id, _, _ in conversions}
        times: dict[str, list[int]] = {}
        for _, first, us in conversions:
            times.setdefault(persons.person_of(first), []).append(us // 1000)  # stored to the ms
        spans = {p: Span(tuple(persons.members(p) or {p}), min(ms), max(ms)) for p, ms in times.items()}
        timelines = histories_for_conversions(self._b, spans, lookback=lookback)
        journeys = [
            j
            for tl in timelines
            for j in build_journeys(tl, lookback=lookback, include_null=False)
            if j.conversion and j.conversion.event_id in wanted
        ]
        jtable, ctable = credit_tables(
            journeys, self._s.live_models, source="live", half_life=timedelta(days=self._s.half_life_days), now=now
        )
        self._b.insert_arrow("journeys", jtable)
        self._b.insert_arrow("attribution_credits", _with_withdrawn(self._b, ctable, again, now))
        return int(jtable.num_rows), sum(len(tl.touches) + len(tl.conversions) for tl in timelines)


def _with_withdrawn(backend: Backend, credits: pa.Table, again: AbstractSet[str], now: datetime) -> pa.Table:
    """``credits`` and a 0 row for each channel a re-credited conversion held and no longer earns."""
    if not again:
        return credits
    new = set(
        zip(
            credits.column("conversion_id").to_pylist(),
            credits.column("model").to_pylist(),
            credits.column("channel").to_pylist(),
            strict=True,
        )
    )
    old = backend.query(
        "SELECT toString(conversion_id) AS c, model, channel, person_id, "
        "toUnixTimestamp64Milli(conversion_time) AS ms FROM attribution_credits "
        "FINAL WHERE source = 'live' AND conversion_id IN {ids:Array(UUID)} AND credit != 0",
        {"ids": sorted(again)},
    )
    gone = [r for r in old if (r["c"], r["model"], r["channel"]) not in new]
    if not gone:
        return credits
    rows = {
        "model": [r["model"] for r in gone],
        "source": ["live"] * len(gone),
        "conversion_id": [r["c"] for r in gone],
        "person_id": [r["person_id"] for r in gone],
        "conversion_time": [datetime.fromtimestamp(int(r["ms"]) / 1000, UTC) for r in gone],
        "channel": [r["channel"] for r in gone],
        "credit": [0.0] * len(gone),
        "revenue_credit": [0.0] * len(gone),
        "computed_at": [now] * len(gone),
    }
    return pa.concat_tables([credits, pa.table(rows, schema=credits.schema)])


def credit_unlinked(backend: Backend, settings: Settings, events: pa.Table) -> None:
    """Credit "no linked touchpoint" the conversions of a stored batch of events that carry no
    identifier at all: no link will ever reach the identity stage for them."""
    unlinked = unlinked_credit_tables(
        events, settings.live_models, half_life=timedelta(days=settings.half_life_days), now=datetime.now(UTC)
    )
    if unlinked is not None:
        backend.insert_arrow("journeys", unlinked[0])
        backend.insert_arrow("attribution_credits", unlinked[1])
