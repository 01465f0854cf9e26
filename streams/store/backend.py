"""Two ClickHouse backends behind one small interface.

The same SQL text runs on both: parameters use ClickHouse's server-side syntax
``{name:Type}``, which chDB and clickhouse-driver (``server_side_params``) both bind —
user input is never spliced into SQL.

chDB allows one process per data path. The worker owns it; other processes read through
the worker's HTTP read endpoints (see ``streams.web``), or open it when no worker runs.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import orjson
import pyarrow as pa

from streams.errors import ConfigError, QueryError, StoreUnavailable

Row = dict[str, Any]


# Identifiers one query may carry in an Array parameter. Where parameters travel in the SQL
# text or the native protocol a batch's list goes in one query: each query scans the events a
# bloom filter cannot exclude, which on a large table is most of them.
MANY_IDS_PER_QUERY = 50_000


class Backend(Protocol):
    name: str
    max_query_ids: int  # see MANY_IDS_PER_QUERY; HTTP carries parameters in the URL

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, settings: Mapping[str, int | str] | None = None
    ) -> list[Row]:
        """Rows of one SELECT. ``settings`` are query settings the statement cannot override
        (``streams.store.guard`` passes ``readonly`` and bounds through them)."""
        ...

    def insert(self, table: str, rows: Sequence[Row]) -> None: ...

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Insert a typed Arrow table (the events hot path, ``ingest.columns``)."""
        ...

    def close(self) -> None: ...


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _dt(v: datetime) -> str:
    # ClickHouse parses 'YYYY-MM-DD hh:mm:ss.fff' in the column's time zone (UTC everywhere here).
    return v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def encode_rows(rows: Sequence[Row]) -> bytes:
    """Rows → JSONEachRow. Datetimes must be aware; orjson writes them as RFC 3339 (``…Z``),
    which the INSERT parses with ``date_time_input_format = 'best_effort'``."""
    dumps, opt = orjson.dumps, orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
    return b"\n".join([dumps(row, default=_json_default, option=opt) for row in rows])


INSERT = "INSERT INTO {table} SETTINGS date_time_input_format = 'best_effort' FORMAT JSONEachRow"

# ``insert_arrow`` batches never hold two rows with one sort key on purpose (the dedupe window
# drops repeats within a batch; the identity stage writes each identifier once per flush), so the
# server need not collapse each inserted block as ReplacingMergeTree would by default, which more
# than doubled an insert's CPU (docs/decisions/merge-settings.md). Readers deduplicate with FINAL
# or argMax, as they must across blocks anyway.
ARROW_INSERT_SETTINGS: dict[str, int] = {"optimize_on_insert": 0}
_ARROW_INSERT_SETTINGS_SQL = ", ".join(f"{k} = {v}" for k, v in ARROW_INSERT_SETTINGS.items())


def _quote(v: Any) -> str:
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_quote(x) for x in v) + "]"
    if isinstance(v, datetime):
        return "'" + _dt(v) + "'"
    return str(v)


# ClickHouse reads a parameter's text in its escaped format: a backslash, tab or newline in a
# value must be escaped, or the value is refused ("isn't parsed complete") or changed.
_PARAM_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def chdb_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """chDB binds scalars as text but not containers: render those as ClickHouse literals."""
    if not params:
        return None
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            out[k] = _quote(v)
        elif isinstance(v, datetime):
            out[k] = _dt(v)
        elif isinstance(v, str):
            out[k] = v.translate(_PARAM_ESCAPES)
        else:
            out[k] = v
    return out


def settings_sql(settings: Mapping[str, int | str]) -> str:
    """``k = v, …`` for a SETTINGS clause; names and values come from code, never from a user."""
    return ", ".join(f"{k} = {_quote(v)}" for k, v in settings.items())


def _not_owned(path: Path) -> None:
    """Raise if another process holds the store: ClickHouse flocks ``status`` in its data path for
    as long as it runs. Asked before opening, since chDB itself prints the refusal to stderr."""
    import fcntl

    status = path / "status"
    if not status.exists():
        return
    with status.open("rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreUnavailable(
                f"the store at {path} is open in another process; if a worker owns it, stop the worker first "
                "or go through it (--worker-url)"
            ) from None
        fcntl.flock(f, fcntl.LOCK_UN)


class ChdbBackend:
    """Embedded ClickHouse (chDB) under a local directory. One owning process."""

    name = "chdb"
    max_query_ids = MANY_IDS_PER_QUERY

    def __init__(self, path: Path) -> None:
        from chdb import session  # imported here: the server backend does not need it

        path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        _not_owned(path)
        try:
            self._session = session.Session(str(path))
        except Exception as err:  # chDB raises plain exceptions when the path is locked
            raise StoreUnavailable(
                f"cannot open chDB at {path} ({err}); if a worker owns it, stop the worker first or go "
                "through it (--worker-url)"
            ) from err

    def _run(
        self, sql: str, fmt: str, params: Mapping[str, Any] | None, settings: Mapping[str, int | str] | None = None
    ) -> Any:
        return self.run_bound(sql, fmt, chdb_params(params), settings)

    def run_bound(
        self, sql: str, fmt: str, bound: Mapping[str, Any] | None, settings: Mapping[str, int | str] | None = None
    ) -> Any:
        """Run with parameters already in ClickHouse's text form (as the HTTP interface gets them)."""
        if settings:
            sql = self._with_settings(sql, settings)
        with self._lock:
            try:
                return self._session.query(sql, fmt, params=bound)
            except Exception as err:
                raise QueryError(str(err).strip()[:2000]) from err

    def _with_settings(self, sql: str, settings: Mapping[str, int | str]) -> str:
        # chDB has no channel for query settings beside the text. The engine's canonical text of
        # the statement (one statement, no comment left to swallow what follows) is closed by the
        # clause; a statement with a SETTINGS clause of its own then fails to parse, and with
        # readonly among the settings none can be changed (streams/store/guard.py).
        [row] = self.query("SELECT formatQuerySingleLine({q:String}) AS q", {"q": sql})
        text = str(row["q"])
        if text.startswith("INSERT"):  # the canonical text of an INSERT drops its inline data
            raise QueryError("Code: 115. DB::Exception: settings on an INSERT with inline data are not supported")
        return f"{text} SETTINGS {settings_sql(settings)}"

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "Null", params)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, settings: Mapping[str, int | str] | None = None
    ) -> list[Row]:
        res = self._run(sql, "JSONEachRow", params, settings)
        data = res.bytes()
        return [orjson.loads(line) for line in data.splitlines() if line]

    def insert(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            self._run(INSERT.format(table=table) + "\n" + encode_rows(rows).decode(), "Null", None)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows:
            cols = ", ".join(data.column_names)
            arrow_batch = data  # noqa: F841 — chDB's Python() table function finds it by name in this frame
            self._run(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM Python(arrow_batch) "
                f"SETTINGS {_ARROW_INSERT_SETTINGS_SQL}",
                "Null",
                None,
            )

    def close(self) -> None:
        with self._lock:
            self._session.close()


class DriverBackend:
    """A ClickHouse server through clickhouse-driver's native protocol."""

    name = "clickhouse"
    max_query_ids = MANY_IDS_PER_QUERY

    def __init__(self, url: str, *, secure: bool = False, ca_certs: Path | None = None) -> None:
        from clickhouse_driver import Client

        u = urlparse(url)
        if u.scheme not in ("clickhouse", "clickhouses"):
            raise ConfigError("PARCOURS_CLICKHOUSE_URL must look like clickhouse://user:pass@host:9000/db")
        self._client = Client(
            host=u.hostname or "localhost",
            port=u.port or (9440 if secure or u.scheme == "clickhouses" else 9000),
            user=unquote(u.username or "default"),
            password=unquote(u.password or ""),
            database=(u.path.lstrip("/") or "default"),
            secure=secure or u.scheme == "clickhouses",
            ca_certs=str(ca_certs) if ca_certs else None,
            settings={"server_side_params": True, "input_format_skip_unknown_fields": 1},
            connect_timeout=5,
            send_receive_timeout=60,
        )

    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        from clickhouse_driver import errors

        try:
            return fn(*args, **kw)
        except (errors.NetworkError, errors.SocketTimeoutError, ConnectionError, OSError, EOFError) as err:
            self._client.disconnect()
            raise StoreUnavailable(f"ClickHouse unreachable: {err}") from err
        except errors.ServerException as err:
            raise QueryError(str(err)[:2000]) from err

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._call(self._client.execute, sql, dict(params) if params else None)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, settings: Mapping[str, int | str] | None = None
    ) -> list[Row]:
        rows, cols = self._call(
            self._client.execute,
            sql,
            dict(params) if params else None,
            with_column_types=True,
            settings=dict(settings) if settings else None,  # out of band, in the native protocol
        )
        names = [c[0] for c in cols]
        return [dict(zip(names, r, strict=True)) for r in rows]

    def insert(self, table: str, rows: Sequence[Row], settings: Mapping[str, int] | None = None) -> None:
        if rows:
            # JSONEachRow keeps one encoding for both backends (types are coerced by the server).
            sql = INSERT.format(table=table) + " " + encode_rows(rows).decode()
            self._call(self._client.execute, sql, settings=settings)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        # The driver's columnar insert: one list per column, encoded by the driver in the native
        # protocol; never a dict per row nor JSON text (docs/decisions/server-inserts.md).
        if data.num_rows:
            sql = f"INSERT INTO {table} ({', '.join(data.column_names)}) VALUES"
            self._call(self._client.execute, sql, columnar(data), columnar=True, settings=ARROW_INSERT_SETTINGS)

    def close(self) -> None:
        self._client.disconnect()


def columnar(data: pa.Table) -> list[list[Any]]:
    """An Arrow table as clickhouse-driver's columnar insert takes it: a list of values per column.
    Top-level timestamps go as integer milliseconds, which the driver writes as they are into the
    tables' DateTime64(3) columns (building a datetime per value, for the driver to take it apart
    again, cost the most); timestamps inside lists go as datetimes."""
    out = []
    for column in data.columns:
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("ms", column.type.tz), safe=False).cast(pa.int64())
        out.append(column.to_pylist())
    return out
