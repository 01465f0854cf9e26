"""Stitching on hostile data (``SimConfig(hostile=True)``: unflagged kiosks, family tablets and
cookies, placeholder e-mails and phones, CRM ids verified later, logins hours late) through the
real stages (normalizer, identity stage, store), judged against the simulator's truth; and the
same data in order, shuffled, and with a restart (and copies of stored events) in between give
the same identity map, journeys and credits."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.attribution.offline import pairwise_scores
from streams.backfill import backfill
from streams.identity.identifiers import singleton_person
from streams.identity.stage import IdentityStage
from streams.settings import Settings
from streams.simulate import SimConfig, Simulation, simulate
from streams.simulate.truth import IdentityComponents
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate

END = datetime(2026, 3, 8, tzinfo=UTC)
Records = list[tuple[bytes, int]]


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(SimConfig(persons=1500, days=7, seed=11, end=END, hostile=True, pepper=Settings().pepper()))


def _run(root: Path, settings: Settings, parts: list[Records]) -> dict[str, Any]:
    """Each part through a fresh normalizer and identity stage (a restart between parts)."""
    ch = ChdbBackend(root)
    try:
        migrate(ch)
        for records in parts:
            stage = IdentityStage(settings, ch)
            stage.load()
            backfill(ch, settings, records, batch_size=400, identity=stage)
        return {
            "map": {
                r["identifier"]: r["person_id"] for r in ch.query("SELECT identifier, person_id FROM identity_current")
            },
            "paths": {
                r["c"]: tuple(r["path"])
                for r in ch.query("SELECT toString(conversion_id) AS c, path FROM journeys FINAL WHERE source = 'live'")
            },
            "credits": {
                (r["c"], r["channel"]): round(float(r["credit"]), 6)
                for r in ch.query(
                    "SELECT toString(conversion_id) AS c, channel, credit FROM attribution_credits FINAL "
                    "WHERE source = 'live' AND model = 'linear' AND credit != 0"
                )
            },
            "dead": Counter(r["reason"] for r in ch.query("SELECT reason FROM dead_letters")),
            "decided": Counter(r["decision"] for r in ch.query("SELECT decision FROM identity_links")),
        }
    finally:
        ch.close()


@pytest.fixture(scope="module")
def runs(sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    settings = Settings()
    records = [(e.value, e.timestamp_ms) for e in sim.emitted]
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    half = len(records) // 2
    rng = random.Random(2)
    # after the restart: copies of stored events, re-serialised (the same content) or forged (not)
    copies = [
        (orjson.dumps(dict(reversed(list(orjson.loads(v).items())))), ts + 3_600_000)
        for v, ts in rng.sample(records[:half], 200)
    ]
    forged = []
    for v, ts in rng.sample([r for r in records[:half] if b'"order_completed"' in r[0]], 5):
        event = orjson.loads(v)
        event["properties"]["revenue"] = 9999.0
        event["identities"] = {"anonymous_id": "ck-forged", "user_id": "crm-forged"}
        forged.append((orjson.dumps(event), ts + 3_600_000))
    tmp = tmp_path_factory.mktemp("hostile")
    return {
        "in order": _run(tmp / "a", settings, [records]),
        "shuffled": _run(tmp / "b", settings, [shuffled]),
        "restart": _run(tmp / "c", settings, [records[:half], copies + forged + records[half:]]),
    }


def _scores(sim: Simulation, person_map: dict[str, str]) -> dict[str, float]:
    truth = sim.truth.identifier_person
    shared = set(sim.truth.shared_devices)
    truth = {i: p for i, p in truth.items() if i not in shared}
    person_of = {i: person_map.get(i, singleton_person(i)) for i in truth}
    precision, recall, predicted, true = pairwise_scores(truth, person_of)
    # linkable: identifiers of one customer that the customer's own events present together
    comps = IdentityComponents(sim.truth.evidence(crm=False))
    linkable = {i: f"{p}/{comps.find(i)}" for i, p in truth.items()}
    _, linkable_recall, _, _ = pairwise_scores(linkable, person_of)  # type: ignore[arg-type]
    owners: dict[str, set[int]] = {}
    for i, p in truth.items():
        owners.setdefault(person_of[i], set()).add(p)
    return {
        "precision": precision,
        "recall": recall,
        "linkable_recall": linkable_recall,
        "bad_persons": sum(1 for v in owners.values() if len(v) > 1),
        "pairs": predicted,
        "true_pairs": true,
    }


@pytest.mark.parametrize("run", ["in order", "shuffled", "restart"])
def test_hostile_stitching_is_precise_and_finds_what_can_be_found(
    sim: Simulation, runs: dict[str, dict[str, Any]], run: str, record_property: Any
) -> None:
    s = _scores(sim, runs[run]["map"])
    decided = runs[run]["decided"]
    record_property("hostile_stitching", {**s, "decisions": dict(decided)})
    print(f"\nhostile, {run}: {s}, decisions {dict(decided)}")
    # the traps were there and the guards met them
    for kind in ("refused_junk", "refused_crm_conflict", "split_crm_conflict"):
        assert decided[kind] > 0, kind
    assert s["precision"] >= 0.999 and s["bad_persons"] == 0
    assert s["linkable_recall"] >= 0.98


def test_order_and_restarts_change_nothing(runs: dict[str, dict[str, Any]]) -> None:
    base = runs["in order"]
    for name in ("shuffled", "restart"):
        other = runs[name]
        assert other["map"] == base["map"], name
        assert other["paths"] == base["paths"], name
        assert other["credits"] == base["credits"], name
    assert runs["restart"]["dead"]["conflicting_duplicate"] == base["dead"]["conflicting_duplicate"] + 5
