from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.errors import QueryError
from streams.store.backend import ChdbBackend, chdb_params
from streams.store.migrations import (
    MERGE_SELECTOR_BASE,
    SERIAL_PART_REMOVAL,
    migrate,
    sql_files,
    statements,
    tune_merges,
)


@pytest.fixture
def chdb(tmp_path: Path) -> ChdbBackend:
    return ChdbBackend(tmp_path / "ch")


def test_sql_files_are_numbered_and_split_into_statements() -> None:
    names = [p.name for p in sql_files()]
    assert names == sorted(names) and names[0].startswith("001_")
    stmts = statements("CREATE TABLE a (x UInt8) ENGINE = Memory;\n-- c\nCREATE VIEW b AS SELECT 1;\n")
    assert len(stmts) == 2 and stmts[1].startswith("-- c")


def test_ddl_keeps_the_idempotency_keys() -> None:
    text = {p.name: p.read_text() for p in sql_files()}
    assert "ReplacingMergeTree(ingested_at)" in text["001_events.sql"]
    assert "ORDER BY event_id" in text["001_events.sql"]
    assert "ReplacingMergeTree(version)" in text["003_identity.sql"]


def test_migrate_applies_once(chdb: ChdbBackend) -> None:
    assert len(migrate(chdb)) == len(sql_files())
    assert migrate(chdb) == []
    tables = {r["name"] for r in chdb.query("SELECT name FROM system.tables WHERE database = currentDatabase()")}
    assert {"events", "dead_letters", "identity_map", "journeys", "attribution_credits"} <= tables


def test_merges_of_the_tables_every_event_reaches_are_tuned(chdb: ChdbBackend) -> None:
    migrate(chdb)
    for table in ("events", "touches_by_identifier"):
        [row] = chdb.query(f"SHOW CREATE TABLE {table}")
        assert f"merge_selector_base = {MERGE_SELECTOR_BASE}" in next(iter(row.values()))
    [row] = chdb.query("SHOW CREATE TABLE journeys")
    assert "merge_selector_base" not in next(iter(row.values()))


class _OlderServer:
    """Answers as a server that does not know the setting; records what it was asked to run."""

    def __init__(self) -> None:
        self.executed: list[str] = []

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        return []  # system.merge_tree_settings has neither

    def execute(self, sql: str) -> None:
        self.executed.append(sql)


def test_a_server_without_the_merge_setting_keeps_its_default() -> None:
    server = _OlderServer()
    assert tune_merges(server) is False  # type: ignore[arg-type]  # only query and execute are used
    assert server.executed == []


def test_merged_away_parts_are_removed_without_a_thread_each(chdb: ChdbBackend) -> None:
    """From 100 outdated parts at once ClickHouse would start a thread a part (up to 128), which
    chDB's pool then keeps; serial removal starts none."""
    migrate(chdb)
    for r in chdb.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
    ):
        [ddl] = chdb.query(f"SHOW CREATE TABLE {r['name']}")
        assert f"concurrent_part_removal_threshold = {SERIAL_PART_REMOVAL}" in next(iter(ddl.values()))
    chdb.execute(  # removed within seconds of the merge, not minutes
        "ALTER TABLE dead_letters MODIFY SETTING old_parts_lifetime = 1, cleanup_delay_period = 1, "
        "cleanup_delay_period_random_add = 0, merge_tree_clear_old_parts_interval_seconds = 1"
    )
    chdb.execute("SYSTEM STOP MERGES dead_letters")
    for i in range(150):
        chdb.execute(f"INSERT INTO dead_letters (dl_id, reason) VALUES ('{i}', 'invalid_json')")
    before = _pool_threads()
    chdb.execute("SYSTEM START MERGES dead_letters")
    chdb.execute("OPTIMIZE TABLE dead_letters FINAL")
    outdated = "SELECT count() AS n FROM system.parts WHERE table = 'dead_letters' AND NOT active"
    deadline = time.monotonic() + 60
    while chdb.query(outdated) != [{"n": 0}]:
        assert time.monotonic() < deadline, "merged-away parts were not removed"
        time.sleep(0.5)
    assert _pool_threads() - before < 10


def _pool_threads() -> int:
    names = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            names.append((task / "comm").read_text().strip())
    return sum(n.startswith("ThreadPool") for n in names)


def test_redelivered_rows_count_once(chdb: ChdbBackend) -> None:
    migrate(chdb)
    row = {
        "event_id": "0f8b0e4e-9a4c-4a77-9d7e-1c5b4d0f2a11",
        "type": "like",
        "channel": "social",
        "occurred_at": datetime(2026, 3, 1, tzinfo=UTC),
        "received_at": datetime(2026, 3, 1, tzinfo=UTC),
        "event_time": datetime(2026, 3, 1, tzinfo=UTC),
        "ingested_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    chdb.insert("events", [row])
    chdb.insert("events", [row])  # at-least-once: the same batch stored twice
    assert chdb.query("SELECT count() AS n FROM events_dedup") == [{"n": 1}]


def test_parameters_are_bound_not_spliced(chdb: ChdbBackend) -> None:
    hostile = "x'); DROP TABLE t; --"
    assert chdb.query("SELECT {v:String} AS v", {"v": hostile}) == [{"v": hostile}]
    assert chdb.query("SELECT {a:Array(String)} AS a", {"a": [hostile, "b\\"]}) == [{"a": [hostile, "b\\"]}]
    assert chdb_params({"t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}) == {"t": "2026-01-02 03:04:05.000"}


def test_bad_sql_is_a_terminal_query_error(chdb: ChdbBackend) -> None:
    with pytest.raises(QueryError):
        chdb.query("SELECT * FROM no_such_table")


def test_grafana_user_is_read_only_and_sends_only_a_hash() -> None:
    from streams.errors import ConfigError
    from streams.store.migrations import grafana_user_statements

    stmts = grafana_user_statements("parcours_grafana", "s3cret!", "parcours")
    assert len(stmts) == 2
    assert "SETTINGS readonly = 1" in stmts[0] and "s3cret!" not in " ".join(stmts)
    assert stmts[1].endswith("GRANT SELECT ON parcours.* TO parcours_grafana")
    with pytest.raises(ConfigError):
        grafana_user_statements("x; DROP TABLE events", "p", "parcours")
