"""The identity stage against a real store: what it writes to identity_map and identity_links."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from streams.identity import stage as stage_module
from streams.identity.graph import MERGED, REFUSED_CRM
from streams.identity.identifiers import singleton_person
from streams.identity.stage import IdentityStage
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate

T = "2026-03-02T12:00:00+00:00"


def _link(
    event_id: str, *identifiers: str, verified: str | None = None, refused: list[list[str]] | None = None
) -> dict[str, object]:
    return {
        "event_id": event_id,
        "identifiers": list(identifiers),
        "refused": refused or [],
        "verified_crm": verified,
        "event_time": T,
        "conversion": False,
    }


def _store(tmp_path: Path) -> ChdbBackend:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    return ch


def test_arrow_schemas_follow_the_identity_ddl(tmp_path: Path) -> None:
    ch = _store(tmp_path)
    arrow_of = {
        "String": pa.string(),
        "LowCardinality(String)": pa.string(),
        "UInt64": pa.uint64(),
        "UInt8": pa.uint8(),
        "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),
    }
    for table, schema in (("identity_map", stage_module._MAP_SCHEMA), ("identity_links", stage_module._LINKS_SCHEMA)):
        ddl = [(r["name"], r["type"]) for r in ch.query(f"DESCRIBE TABLE {table}")]
        assert [(f.name, f.type) for f in schema] == [(name, arrow_of[t]) for name, t in ddl], table


def test_the_stage_writes_mappings_and_decisions_that_merged_or_refused(tmp_path: Path, settings: Settings) -> None:
    ch = _store(tmp_path)
    st = IdentityStage(settings, ch)
    st.process(
        [
            _link("e1", "crm:alice", "anon:a", verified="crm:alice"),
            _link("e2", "anon:a", "crm:alice"),  # already linked: no decision
            _link("e3", "crm:bob", "anon:b", verified="crm:bob"),
            _link("e4", "anon:a", "anon:b"),  # two verified CRM ids: refused
            _link("e5", "anon:z", refused=[["device:shared", "refused_shared_device"]]),
        ]
    )
    decisions = ch.query(
        "SELECT event_id, identifier_a, identifier_b, decision, person_id, toString(event_time) AS t "
        "FROM identity_links ORDER BY event_id"
    )
    alice = min("crm:alice", "anon:a")
    # e4's two verified persons are rebuilt from the evidence (in time order): each keeps its own
    assert [(d["event_id"], d["decision"]) for d in decisions] == [
        ("", "split_crm_conflict"),
        ("", "split_crm_conflict"),
        ("e1", MERGED),
        ("e3", MERGED),
        ("e4", REFUSED_CRM),
        ("e5", "refused_shared_device"),
    ]
    assert decisions[2]["person_id"] == singleton_person(alice)
    assert {d["t"] for d in decisions} == {"2026-03-02 12:00:00.000"}
    maps = {
        r["identifier"]: r
        for r in ch.query(
            "SELECT identifier, argMax(person_id, version) AS person_id, argMax(rule, version) AS rule, "
            "argMax(verified, version) AS verified, argMax(via_event, version) AS via "
            "FROM identity_map GROUP BY identifier"
        )
    }
    assert set(maps) == {"crm:alice", "anon:a", "crm:bob", "anon:b", "anon:z"}
    assert maps["anon:a"]["person_id"] == maps["crm:alice"]["person_id"] == singleton_person(alice)
    assert (maps["anon:z"]["rule"], maps["anon:a"]["rule"]) == ("seen", "split")  # rebuilt after e4
    assert (maps["crm:alice"]["verified"], maps["anon:a"]["verified"]) == (1, 0)
    assert maps["anon:b"]["via"] == "e3"


def test_a_restarted_stage_continues_with_higher_versions(tmp_path: Path, settings: Settings) -> None:
    ch = _store(tmp_path)
    first = IdentityStage(settings, ch)
    first.process([_link("e1", "anon:a", "device:d"), _link("e2", "anon:c")])
    [before] = ch.query("SELECT max(version) AS v, count() AS n, uniqExact(version) AS u FROM identity_map")
    assert before["n"] == before["u"] == 3  # one version per mapping written
    again = IdentityStage(settings, ch)
    assert again.load() == 3
    again.process([_link("e3", "anon:c", "anon:a")])
    [after] = ch.query("SELECT min(version) AS v FROM identity_map WHERE version > {v:UInt64}", {"v": before["v"]})
    assert after["v"] > before["v"]
    [person] = ch.query(
        "SELECT uniqExact(pid) AS n, any(pid) AS p "
        "FROM (SELECT argMax(person_id, version) AS pid FROM identity_map GROUP BY identifier)"
    )
    assert person == {"n": 1, "p": singleton_person("anon:a")}
