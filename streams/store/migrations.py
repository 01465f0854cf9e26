"""Apply the numbered SQL files under ``schemas/clickhouse`` in order, once each."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from streams.errors import ConfigError
from streams.store.backend import Backend

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
    "ENGINE = ReplacingMergeTree ORDER BY name"
)


def sql_files(folder: str = "clickhouse") -> list[Path]:
    root = Path(str(resources.files("schemas"))) / folder
    return sorted(p for p in root.glob("*.sql") if re.match(r"^\d{3}_", p.name))


def statements(text: str) -> list[str]:
    """Split a file on ';' at line ends; comments stay with their statement."""
    parts = re.split(r";\s*(?:\n|$)", text)
    return [p.strip() for p in parts if re.sub(r"--[^\n]*", "", p).strip()]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def grafana_user_statements(user: str, password: str, database: str) -> list[str]:
    """The read-only Grafana account, for a ClickHouse server."""
    import hashlib

    for name in (user, database):
        if not _IDENT.match(name):
            raise ConfigError(f"not a plain identifier: {name!r}")
    text = (Path(str(resources.files("schemas"))) / "clickhouse" / "server" / "grafana_user.sql").read_text()
    digest = hashlib.sha256(password.encode()).hexdigest()
    return statements(text.format(user=user, sha256=digest, database=database))


def migrate(backend: Backend, *, retention_days: int | None = None) -> list[str]:
    """Apply pending files; return the names applied. Safe to run concurrently with readers."""
    backend.execute(_LEDGER)
    done = {r["name"] for r in backend.query("SELECT name FROM schema_migrations FINAL")}
    applied = []
    for path in sql_files():
        if path.name in done:
            continue
        for stmt in statements(path.read_text()):
            backend.execute(stmt)
        backend.insert("schema_migrations", [{"name": path.name}])
        applied.append(path.name)
    if retention_days:
        for table in ("events", "touches_by_identifier"):
            backend.execute(
                f"ALTER TABLE {table} MODIFY TTL toDateTime(event_time) + INTERVAL {int(retention_days)} DAY"
            )
    tune_merges(backend)
    return applied


# Every event is written to these two tables, and their background merges cost the most CPU after
# the worker's own thread. With a base of 10 rather than ClickHouse's 5 the merge selector waits
# for more parts of similar size, so each row is rewritten fewer times
# (docs/decisions/merge-settings.md).
MERGE_SELECTOR_BASE = 10
# From 100 parts merged away at once (the setting's default) ClickHouse removes them on a thread
# each, and chDB's global pool keeps those threads resident for good; on a local disk one thread
# removes a part in well under a millisecond (docs/decisions/merge-settings.md).
SERIAL_PART_REMOVAL = 1_000_000_000
_MERGED_TABLES = ("events", "touches_by_identifier")


def tune_merges(backend: Backend) -> bool:
    """Set the merge selector's base, and serial removal of merged-away parts, where the server
    knows the settings (older servers do not; they keep their defaults). Idempotent; returns
    whether the merge selector's base was set."""
    known = {
        r["name"]
        for r in backend.query(
            "SELECT name FROM system.merge_tree_settings WHERE name IN "
            "('merge_selector_base', 'concurrent_part_removal_threshold')"
        )
    }
    if "concurrent_part_removal_threshold" in known:
        for r in backend.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
        ):
            backend.execute(
                f"ALTER TABLE {r['name']} MODIFY SETTING concurrent_part_removal_threshold = {SERIAL_PART_REMOVAL}"
            )
    if "merge_selector_base" not in known:
        return False
    for table in _MERGED_TABLES:
        backend.execute(f"ALTER TABLE {table} MODIFY SETTING merge_selector_base = {MERGE_SELECTOR_BASE}")
    return True
