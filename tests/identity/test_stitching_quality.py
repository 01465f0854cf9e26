"""Stitching against the simulator's ground truth (5,000 persons), through the pipeline's own
normalize → links → graph code."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.attribution.offline import pairwise_scores, run_offline
from streams.settings import Settings
from streams.simulate import SimConfig, simulate

PERSONS, SEED = 5000, 7


def test_pairwise_precision_and_recall_on_5000_persons(record_property) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(SimConfig(persons=PERSONS, days=7, seed=SEED, end=datetime(2026, 3, 8, tzinfo=UTC)))
    run = run_offline(((e.value, e.timestamp_ms) for e in sim.emitted), Settings())
    truth = {i: p for i, p in sim.truth.identifier_person.items() if i not in set(sim.truth.shared_devices)}
    person_of = {i: run.graph.person_of(i) for i in truth}
    precision, recall, predicted, true = pairwise_scores(truth, person_of)
    record_property(
        "stitching",
        {
            "persons": PERSONS,
            "seed": SEED,
            "precision": precision,
            "recall": recall,
            "predicted_pairs": predicted,
            "true_pairs": true,
        },
    )
    print(
        f"\nstitching: {PERSONS} persons, seed {SEED}: precision {precision:.4f}, recall {recall:.4f} "
        f"({predicted} predicted pairs, {true} true pairs)"
    )
    assert precision >= 0.999
    assert recall >= 0.45  # identifiers that never appear together cannot be linked by anyone


def test_zero_merges_through_shared_store_devices() -> None:
    sim = simulate(SimConfig(persons=1500, days=7, seed=3, end=datetime(2026, 3, 8, tzinfo=UTC)))
    run = run_offline(((e.value, e.timestamp_ms) for e in sim.emitted), Settings())
    assert sim.truth.shared_devices, "the simulation must exercise shared mirrors"
    for device in sim.truth.shared_devices:
        assert run.graph.members(run.graph.person_of(device)) == set(), device
    links = run.normalized.links.dicts()
    refused = sum(1 for link in links for _, why in link["refused"] if why == "refused_shared_device")
    assert refused > 100
    # and no stitched person holds identifiers of two real persons
    owners: dict[str, set[int]] = {}
    for ident, p in sim.truth.identifier_person.items():
        owners.setdefault(run.graph.person_of(ident), set()).add(p)
    assert max(len(v) for v in owners.values()) == 1
