"""The cluster variant of the DDL, derived from the single-node files so the two cannot drift:
``python -m streams.store.cluster`` writes ``schemas/clickhouse/cluster/``.

Each table becomes ``<name>_local`` (Replicated*MergeTree, ``ON CLUSTER``) plus a Distributed
``<name>`` with the same columns, so every query, view and dashboard runs unchanged. Sharding
keeps the rows that must deduplicate together on one shard: events by ``event_id``, the
identity map by ``identifier``, journeys and credits by ``conversion_id``. A materialized view
reads its shard's ``<source>_local`` and writes its shard's ``<target>_local``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import schemas
from streams.store.migrations import sql_files, statements

OUT = Path(schemas.__file__).parent / "clickhouse" / "cluster"
CLUSTER = "{cluster}"
SHARDING = {
    "events": "cityHash64(event_id)",
    "dead_letters": "cityHash64(dl_id)",
    "identity_map": "cityHash64(identifier)",
    "identity_links": "cityHash64(event_id)",
    "journeys": "cityHash64(conversion_id)",
    "attribution_credits": "cityHash64(conversion_id)",
    "touches_by_identifier": "cityHash64(event_id)",  # beside its event: the view writes shard-locally
    "shared_identifiers": "cityHash64(identifier)",
    "identity_evidence": "cityHash64(source_id)",
}
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\((.*)\)\s*ENGINE = (\w+)(?:\(([^)]*)\))?(.*)$", re.S)
_VIEW = re.compile(r"CREATE VIEW IF NOT EXISTS (\w+)", re.S)
_DROP_VIEW = re.compile(r"DROP VIEW IF EXISTS (\w+)$")
_ALTER = re.compile(r"ALTER TABLE (\w+) (.*)$", re.S)
_MATVIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS(.*)\bFROM (\w+)\b(.*)$", re.S)


def convert(stmt: str) -> list[str]:
    body = re.sub(r"(?m)^\s*--.*\n", "", stmt + "\n").strip()
    m = _TABLE.match(body)
    if m:
        name, cols, engine, args, rest = m.groups()
        path = f"'/clickhouse/tables/{{shard}}/{{database}}/{name}'"
        rargs = ", ".join([path, "'{replica}'", *([args] if args else [])])
        key = SHARDING.get(name, "rand()")
        return [
            f"CREATE TABLE IF NOT EXISTS {name}_local ON CLUSTER '{CLUSTER}'\n({cols})\n"
            f"ENGINE = Replicated{engine}({rargs}){rest}",
            f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER '{CLUSTER}' AS {name}_local\n"
            f"ENGINE = Distributed('{CLUSTER}', currentDatabase(), {name}_local, {key})",
        ]
    v = _VIEW.match(body)
    if v:
        return [
            body.replace(
                f"CREATE VIEW IF NOT EXISTS {v.group(1)}",
                f"CREATE VIEW IF NOT EXISTS {v.group(1)} ON CLUSTER '{CLUSTER}'",
                1,
            )
        ]
    d = _DROP_VIEW.match(body)
    if d:  # a view is replaced by dropping it and creating it again
        return [f"DROP VIEW IF EXISTS {d.group(1)} ON CLUSTER '{CLUSTER}'"]
    a = _ALTER.match(body)
    if a:  # a column reaches the local tables and the Distributed one that reads them; an index, the local
        name, change = a.groups()
        tables = (f"{name}_local",) if change.lstrip().upper().startswith("ADD INDEX") else (f"{name}_local", name)
        return [f"ALTER TABLE {t} ON CLUSTER '{CLUSTER}' {change}" for t in tables]
    mv = _MATVIEW.match(body)
    if mv:
        # On every shard, from its local events to its local target: rows stay beside their event.
        name, target, select, source, rest = mv.groups()
        return [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name} ON CLUSTER '{CLUSTER}' TO {target}_local AS"
            f"{select}FROM {source}_local{rest}"
        ]
    if body.startswith("INSERT INTO "):
        return [body]  # a backfill, run once by the node that migrates, through the Distributed tables
    raise ValueError(f"cannot convert statement:\n{body[:200]}")


def rendered() -> dict[str, str]:
    out = {}
    for path in sql_files():
        stmts = [c for s in statements(path.read_text()) for c in convert(s)]
        head = (
            f"-- Generated from ../{path.name} by `python -m streams.store.cluster`; do not edit.\n"
            "-- Macros {cluster}, {shard}, {replica} come from each server's config.\n\n"
        )
        out[path.name] = head + ";\n\n".join(stmts) + ";\n"
    return out


def main() -> int:
    from schemas.export import write_generated

    write_generated(OUT, rendered(), "*.sql")
    return 0


if __name__ == "__main__":
    sys.exit(main())
