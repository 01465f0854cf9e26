"""Each guard by name, and the properties the single writer relies on."""

from __future__ import annotations

import itertools
import random

import pytest

from streams.identity.graph import MERGED, REFUSED_CAP, REFUSED_CRM, IdentityGraph, new_graph
from streams.identity.identifiers import is_junk, singleton_person


def test_identifiers_seen_together_become_one_person() -> None:
    g = IdentityGraph()
    g.link(["crm:1", "anon:a"])
    g.link(["anon:a", "device:d"])
    assert g.person_of("crm:1") == g.person_of("device:d") == g.person_of("anon:a")
    assert g.members(g.person_of("crm:1")) == {"crm:1", "anon:a", "device:d"}


def test_guard_two_verified_crm_ids_never_merge() -> None:
    g = IdentityGraph()
    g.link(["crm:alice", "anon:a"], verified_crm="crm:alice")
    g.link(["crm:bob", "anon:b"], verified_crm="crm:bob")
    [d] = g.link(["anon:a", "anon:b"])  # e.g. a family computer
    assert d.decision == REFUSED_CRM
    assert g.person_of("crm:alice") != g.person_of("crm:bob")


@pytest.mark.parametrize("native", [False, True], ids=["reference", "native"])
def test_guard_a_crm_id_does_not_become_verified_beside_another(native: bool) -> None:
    """B came in unverified on a family cookie and joined A's person; B's later verified login is
    refused (recorded), and links nothing: one person never holds two verified CRM ids."""
    g = new_graph(native=native)
    g.link(["crm:alice", "anon:a"], verified_crm="crm:alice")
    g.link(["anon:a", "crm:bob"])  # the family computer, Bob not logged in
    assert g.person_of("crm:bob") == g.person_of("crm:alice")
    [d] = g.link(["crm:bob", "anon:bobs-phone"], verified_crm="crm:bob")
    assert tuple(d) == ("crm:bob", "crm:alice", REFUSED_CRM, g.person_of("crm:alice"))
    assert g.person_of("anon:bobs-phone") != g.person_of("crm:alice")
    verified = {i for i, _, v in g.drain() if v}
    assert verified == {"crm:alice"}


def test_unverified_crm_ids_may_merge() -> None:
    g = IdentityGraph()
    g.link(["crm:alice", "anon:a"])
    g.link(["crm:alice2", "anon:b"])
    [d] = g.link(["anon:a", "anon:b"])
    assert d.decision == MERGED


def test_guard_cap_on_identifiers_per_type() -> None:
    g = IdentityGraph(max_ids_per_type=3)
    g.link(["crm:1", "anon:a"])
    g.link(["crm:1", "anon:b"])
    g.link(["crm:1", "anon:c"])
    [d] = g.link(["crm:1", "anon:d"])
    assert d.decision == REFUSED_CAP
    assert len(g.members(g.person_of("crm:1"))) == 4  # crm + 3 cookies


def test_guard_junk_values() -> None:
    for junk in ["", "null", "NULL", "undefined", "anonymous", "0", "-1", "0000000", "none", "  ", "ab"]:
        assert is_junk(junk), junk
    for ok in ["ck-123", "crm-77", "ana_b"]:
        assert not is_junk(ok)


def test_relinking_is_a_no_op() -> None:
    g = IdentityGraph()
    g.link(["crm:1", "anon:a"])
    g.drain()
    assert g.link(["anon:a", "crm:1"]) == []  # no decision: nothing merged, nothing refused
    assert g.drain() == []


def test_person_ids_do_not_depend_on_link_order() -> None:
    links = [
        ["anon:a", "crm:1"],
        ["anon:b", "device:x"],
        ["device:x", "crm:1"],
        ["loyalty:l", "anon:z"],
        ["anon:z", "email:e"],
    ]
    results = set()
    for perm in itertools.permutations(links):
        g = IdentityGraph()
        for link in perm:
            g.link(list(link))
        results.add(tuple(sorted((i, g.person_of(i)) for link in links for i in link)))
    assert len(results) == 1
    [mapping] = results
    assert dict(mapping)["crm:1"] == singleton_person("anon:a")  # smallest member names the person


def test_merge_remaps_only_the_component_that_changes_id() -> None:
    g = IdentityGraph()
    g.link(["anon:a", "crm:1"])
    g.link(["device:x", "loyalty:9"])
    g.drain()
    g.link(["crm:1", "loyalty:9"])
    changed = {m.identifier for m in g.drain()}
    assert changed == {"device:x", "loyalty:9"}  # 'anon:a' is the smallest: its side keeps its id


def test_reload_restores_components() -> None:
    g = IdentityGraph()
    rng = random.Random(3)
    ids = [f"anon:{i}" for i in range(50)]
    for _ in range(60):
        g.link(rng.sample(ids, 2))
    state = [(i, g.person_of(i)) for i in ids]
    h = IdentityGraph()
    for ident, pid in state:
        h.load(ident, pid, False)
    assert all(h.person_of(i) == p for i, p in state)
    h.link(["anon:0", "anon:49"])
    g.link(["anon:0", "anon:49"])
    assert all(h.person_of(i) == g.person_of(i) for i in ids)


def test_forget_removes_the_person() -> None:
    g = IdentityGraph()
    g.link(["crm:1", "anon:a"])
    pid = g.person_of("crm:1")
    assert g.forget(pid) == {"crm:1", "anon:a"}
    assert g.person_of("crm:1") == singleton_person("crm:1")


def test_erasure_runs_in_stream_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from streams.identity.erasure import control_message
    from streams.identity.stage import IdentityStage
    from streams.settings import Settings
    from streams.store.backend import ChdbBackend
    from streams.store.migrations import migrate

    b = ChdbBackend(tmp_path / "ch")
    migrate(b)
    stage = IdentityStage(Settings(), b)
    link = {
        "event_id": "e1",
        "identifiers": ["crm:x", "anon:y"],
        "refused": [],
        "verified_crm": None,
        "event_time": "2026-03-01T00:00:00+00:00",
        "conversion": False,
    }
    later = {**link, "event_id": "e2", "identifiers": ["anon:y", "device:z"]}
    stage.process([link, control_message("anon:y", "er1"), later])
    [row] = b.query("SELECT person_id, rows_deleted FROM erasures")
    assert row["rows_deleted"] >= 2
    # the link after the request starts a new person that does not hold the erased CRM id
    assert stage.graph.members(stage.graph.person_of("anon:y")) == {"anon:y", "device:z"}
    assert b.query("SELECT identifier FROM identity_current ORDER BY identifier") == [
        {"identifier": "anon:y"},
        {"identifier": "device:z"},
    ]
    b.close()


def test_stage_records_merges_and_refusals_not_repeats(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from streams.identity.stage import IdentityStage
    from streams.settings import Settings
    from streams.store.backend import ChdbBackend
    from streams.store.migrations import migrate

    b = ChdbBackend(tmp_path / "ch")
    migrate(b)
    stage = IdentityStage(Settings(), b)
    link = {
        "event_id": "e1",
        "identifiers": ["crm:x", "anon:y"],
        "refused": [["device:mirror-1", "refused_shared_device"]],
        "verified_crm": None,
        "event_time": "2026-03-01T00:00:00+00:00",
        "conversion": False,
    }
    stage.process([link, {**link, "event_id": "e2", "refused": []}])  # e2 repeats a known pair
    rows = b.query("SELECT event_id, decision FROM identity_links ORDER BY event_id, decision")
    assert rows == [
        {"event_id": "e1", "decision": MERGED},
        {"event_id": "e1", "decision": "refused_shared_device"},
    ]
    b.close()
