"""Read-only SQL for people who hold the admin token (``POST /v1/sql``, ``parcours sql``).

The guard is the engine's, never string concatenation around the user's text:

1. ClickHouse's own parser reads the statement, bound as a parameter (``formatQuerySingleLine``):
   one statement or a refusal, and a canonical text with every comment gone.
2. ClickHouse's own AST of that canonical text (``EXPLAIN AST``) must be one plain SELECT: no
   table function (``file``, ``url``, ``remote``, ``s3``, ``executable``, …), no function that
   reads files or server configuration, no system table beyond a few harmless catalogues, no
   ``SETTINGS``, ``FORMAT`` or ``INTO OUTFILE`` clause.
3. The canonical text runs with ``readonly = 1``, ``allow_ddl = 0`` and bounds on time, memory
   and result size, handed to the engine out of band where it has a channel for them (HTTP URL
   arguments, the native protocol's settings); chDB has none, so they close the canonical text,
   which step 2 proved holds no clause of its own (``ChdbBackend.query``).

Step 3 alone stops writes, DDL, setting changes and most table functions; steps 1-2 also stop
what ``readonly`` lets through (the ``file()`` function reads any file in embedded chDB, and
``SELECT … INTO OUTFILE`` writes one). See docs/decisions/read-only-sql.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.errors import QueryError, RefusedQuery
from streams.store.backend import Backend, Row

MAX_STATEMENT_CHARS = 100_000

# Scalar functions that read files, the server's configuration or the request's headers.
_DENIED_FUNCTIONS = frozenset(
    f.lower()
    for f in (
        "file",
        "getServerSetting",
        "getMacro",
        "getClientHTTPHeader",
        "currentRequestURL",
        "filesystemAvailable",
        "filesystemCapacity",
        "filesystemUnreserved",
        "catboostEvaluate",
        "naiveBayesClassifier",
        "modelEvaluate",
    )
)
# Catalogues a reader may need to list the tables; processes, settings, logs and the rest expose
# other people's queries or the server's configuration.
_SYSTEM_TABLES = frozenset({"tables", "columns", "parts", "databases", "one"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadLimits:
    """Bounds of one admin query: a slow one must not hold the store (on chDB it shares one lock
    with ingestion, so its time bound is also the longest pause it can cause)."""

    max_execution_time_s: int = 10
    max_memory_bytes: int = 1 << 30
    max_result_rows: int = 100_000
    max_result_bytes: int = 64 << 20

    def settings(self) -> dict[str, int | str]:
        return {
            "readonly": 1,
            "allow_ddl": 0,
            "max_execution_time": self.max_execution_time_s,
            "timeout_overflow_mode": "throw",
            "max_memory_usage": self.max_memory_bytes,
            "max_result_rows": self.max_result_rows,
            "max_result_bytes": self.max_result_bytes,
            "result_overflow_mode": "throw",
        }


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _node(line: str) -> tuple[str, str]:
    """``"   Function file (children 1)"`` → ``("Function", "file")``."""
    parts = line.strip().split(" ", 2)
    return parts[0], parts[1] if len(parts) > 1 else ""


def refusal(ast: list[str], *, current_db: str, databases: set[str]) -> str | None:
    """Why the statement whose ``EXPLAIN AST`` lines are ``ast`` may not run, or None."""
    if not ast or ast[0].strip() != "SelectWithUnionQuery (children 1)":
        return "only one plain SELECT is allowed (no FORMAT, INTO OUTFILE or SETTINGS clause)"
    other_dbs = {d.lower() for d in databases} - {current_db.lower()}
    for i, line in enumerate(ast):
        kind, name = _node(line)
        if kind == "Set":
            return "SETTINGS are fixed by the server"
        if kind == "Function":
            parent = next((ast[j] for j in range(i - 1, -1, -1) if _indent(ast[j]) < _indent(line)), "")
            if parent.strip().startswith("TableExpression"):
                return f"table function {name}() is not allowed"
            if name.lower() in _DENIED_FUNCTIONS:
                return f"function {name}() is not allowed"
        if kind in ("Identifier", "TableIdentifier") and "." in name:
            db, _, rest = name.partition(".")
            db = db.lower()
            if db in other_dbs and not (db == "system" and rest.split(".")[0].lower() in _SYSTEM_TABLES):
                return f"{name} is not readable here"
    return None


def canonical(backend: Backend, sql: str, params: Mapping[str, Any] | None, limits: ReadLimits) -> str:
    """The engine's canonical text of ``sql``, after checking it is a harmless SELECT."""
    if len(sql) > MAX_STATEMENT_CHARS:
        raise RefusedQuery(f"statement over {MAX_STATEMENT_CHARS} characters")
    try:
        [row] = backend.query(
            "SELECT formatQuerySingleLine({q:String}) AS q, currentDatabase() AS db, "
            "(SELECT groupArray(name) FROM system.databases) AS dbs",
            {"q": sql},
        )
    except QueryError as err:
        raise RefusedQuery(f"not one SQL statement: {_engine_message(err)}") from err
    text = str(row["q"])
    try:
        ast = [str(r["explain"]) for r in backend.query(f"EXPLAIN AST {text}", params)]  # parses only
    except QueryError as err:
        raise RefusedQuery(_engine_message(err)) from err
    why = refusal(ast, current_db=str(row["db"]), databases=set(row["dbs"]))
    if why:
        raise RefusedQuery(why)
    return text


def read_only_query(
    backend: Backend, sql: str, params: Mapping[str, Any] | None = None, *, limits: ReadLimits | None = None
) -> list[Row]:
    """Run an untrusted SELECT read-only and bounded; ``RefusedQuery`` says why not."""
    limits = limits or ReadLimits()
    text = canonical(backend, sql, params, limits)
    return backend.query(text, params, settings=limits.settings())


def _engine_message(err: QueryError) -> str:
    # "Code: 62. DB::Exception: Syntax error …" → the part after the exception prefix.
    msg = str(err)
    return msg.split("DB::Exception: ", 1)[-1].split(" In scope ", 1)[0].strip()[:300]
