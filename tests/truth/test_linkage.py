"""Linking in-store sales, measured against the simulator's truth: of the till sales whose
identifiers can reach their buyer's online, social or TV identifiers (``linkable``), the share the
pipeline links (recall), and of those it links, the share linked to the right customer's history
(precision). With the default linkage rates and with all of them halved."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from streams.attribution.offline import run_offline
from streams.identity.crm import crm_links
from streams.settings import Settings
from streams.simulate import SimConfig, simulate
from streams.simulate.linkage import Linkage
from tests.truth import model as truth

END = datetime(2026, 3, 9, tzinfo=UTC)
START = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize("crm", [False, True], ids=["events", "events+crm"])
@pytest.mark.parametrize("linkage", [Linkage(), Linkage().halved()], ids=["default", "halved"])
def test_store_sales_are_linked_with_recall_and_precision(linkage: Linkage, crm: bool, record_property) -> None:  # type: ignore[no-untyped-def]
    settings = Settings()
    sim = simulate(
        replace(SimConfig(persons=2500, days=7, seed=42, end=END, pepper=settings.pepper()), linkage=linkage)
    )
    run = run_offline(((e.value, e.timestamp_ms) for e in sim.emitted), settings)
    if crm:  # the CRM export, loaded as `parcours load crm` loads it, linked by the same graph
        load = crm_links(((i, r, "") for i, r in enumerate(sim.crm_export(), start=1)), settings.pepper())
        for g in load.links.group:
            run.graph.link(load.links.groups[g].identifiers, load.links.groups[g].verified_crm)
    person_of_event = {str(r["event_id"]): run.person_of_row(r) for r in run.normalized.rows}
    true_person = {e.event_id: e.person for e in sim.truth.events}
    online_customers: dict[str, set[int | None]] = defaultdict(set)  # pipeline person → true customers seen online
    for e in sim.truth.events:
        p = person_of_event.get(e.event_id)
        if p and e.channel in truth.ONLINE:
            online_customers[p].add(true_person[e.event_id])
    store = [c for c in truth.conversions(sim, START, END, crm=crm) if c.in_store]
    linkable = {c.event.event_id for c in store if c.linkable}
    linked = {c.event.event_id: online_customers.get(person_of_event.get(c.event.event_id, ""), set()) for c in store}
    linked = {k: v for k, v in linked.items() if v}
    right = {k for k, seen in linked.items() if seen == {true_person[k]}}
    recall = len(linkable & set(linked)) / len(linkable)
    precision = len(right) / len(linked)
    record_property("store_linking", {"store_sales": len(store), "linkable": len(linkable), "linked": len(linked)})
    print(f"\n{linkage}: {len(store)} till sales, {len(linkable)} linkable")
    print(f"recall {recall:.3f}, precision {precision:.4f}")
    assert len(linkable) >= 10  # enough to measure, even at halved rates
    assert recall >= 0.95
    assert precision >= 0.999
