"""ClickHouse's HTTP interface: a client backend, and ``parcours store serve`` — an embedded
chDB store served over that interface.

Why: chDB allows one process per data path. To run several workers on one machine without
a ClickHouse server, one process owns chDB and serves it; workers connect with
``PARCOURS_CLICKHOUSE_URL=http://host:8123``. The client also talks to a real ClickHouse
server's HTTP port, so the same SQL text and the same parameters (``param_<name>``) serve all.
"""

from __future__ import annotations

import hmac
import http.client
import re
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from streams.errors import QueryError, StoreUnavailable
from streams.store.backend import ARROW_INSERT_SETTINGS, INSERT, ChdbBackend, Row, chdb_params, encode_rows


class HttpBackend:
    name = "clickhouse-http"
    # Parameters travel in the URL: a large batch's identifiers passed the server's URI limit
    # (HTTP 414, a crash loop found by the scale-out bench).
    max_query_ids = 400

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        u = urllib.parse.urlparse(url)
        self._host, self._port = u.hostname or "127.0.0.1", u.port or 8123
        self._user, self._password = (
            urllib.parse.unquote(u.username or "default"),
            urllib.parse.unquote(u.password or ""),
        )
        self._database = u.path.lstrip("/") or "default"
        self._timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return conn

    def _post(
        self,
        sql: str,
        body: bytes,
        params: Mapping[str, Any] | None,
        fmt: str | None,
        settings: Mapping[str, int | str] | None = None,
    ) -> bytes:
        args = {"query": sql, "database": self._database, **(settings or {})}  # settings go as URL arguments
        if fmt:
            args["default_format"] = fmt
        for k, v in (chdb_params(params) or {}).items():
            args[f"param_{k}"] = str(v)
        path = "/?" + urllib.parse.urlencode(args)
        headers = {
            "X-ClickHouse-User": self._user,
            "X-ClickHouse-Key": self._password,
            "Content-Type": "application/octet-stream",
        }
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn = self._conn()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                self._local.conn = None
                if attempt == 2 or isinstance(err, ConnectionRefusedError):
                    raise StoreUnavailable(f"ClickHouse HTTP at {self._host}:{self._port}: {err}") from err
                continue
            if resp.status == 200:
                return data
            message = data.decode("utf-8", "replace").strip()[:2000]
            if resp.status in (502, 503, 504):
                raise StoreUnavailable(message)
            raise QueryError(message)
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._post(sql, b"", params, None)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, settings: Mapping[str, int | str] | None = None
    ) -> list[Row]:
        data = self._post(sql, b"", params, "JSONEachRow", settings)
        return [orjson.loads(line) for line in data.splitlines() if line]

    def insert(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            self._post(INSERT.format(table=table), encode_rows(rows), None, None)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        # An Arrow IPC stream in the body, as ClickHouse's HTTP interface takes it (and the store
        # server below): columns go as they are, not as a JSON object per row to be parsed back.
        if data.num_rows:
            sql = arrow_insert_sql(table, data.column_names)
            self._post(sql, arrow_stream(data), None, None, ARROW_INSERT_SETTINGS)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()


_NOT_SETTINGS = frozenset({"query", "database", "default_format", "user", "password"})
_ARROW_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) FORMAT ArrowStream")


def arrow_insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) FORMAT ArrowStream"


def arrow_stream(data: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    return bytes(sink.getvalue())


def _insert_arrow(store: ChdbBackend, sql: str, body: bytes) -> bool:
    """An ``INSERT … FORMAT ArrowStream`` with its body: into chDB as an Arrow table (False if
    ``sql`` is not one). chDB's SQL text cannot carry binary data, so the server reads it here."""
    m = _ARROW_INSERT.fullmatch(sql.strip()) if body else None
    if m is None:
        return False
    try:
        data = pa.ipc.open_stream(body).read_all()
    except pa.ArrowException as err:
        raise QueryError(f"Code: 33. DB::Exception: cannot read the ArrowStream body: {err}") from err
    columns = [c.strip() for c in m.group(2).split(",")]
    if data.column_names != columns:
        raise QueryError(f"Code: 10. DB::Exception: the body's columns {data.column_names} are not {columns}")
    store.insert_arrow(m.group(1), data)
    return True


def serve(path: Path, host: str, port: int, *, password: str = "") -> ThreadingHTTPServer:
    """Serve the chDB store at ``path`` over ClickHouse's HTTP interface (the subset Parcours
    uses: query in the URL or body, ``param_*``, ``default_format``, insert data in the body, as
    text or as an ArrowStream)."""
    store = ChdbBackend(path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            given = self.headers.get("X-ClickHouse-Key", "").encode("utf-8", "surrogateescape")
            if password and not hmac.compare_digest(given, password.encode()):
                self._reply(403, b"Code: 516. DB::Exception: Authentication failed")
                return
            qs = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            sql = qs.get("query", [""])[0]
            try:
                if _insert_arrow(store, sql, body):
                    self._reply(200, b"")
                    return
            except QueryError as err:
                self._reply(500, str(err).encode())
                return
            if not sql:
                sql, body = body.decode(), b""
            elif body:
                sql = sql + "\n" + body.decode()
            params = {k[len("param_") :]: v[0] for k, v in qs.items() if k.startswith("param_")}
            # URL arguments other than these are query settings, as ClickHouse's interface takes
            # them: a client's readonly and limits hold whatever the statement says.
            settings = {k: v[0] for k, v in qs.items() if k not in _NOT_SETTINGS and not k.startswith("param_")}
            fmt = qs.get("default_format", ["Null"])[0]
            try:
                result = store.run_bound(sql, fmt, params or None, settings or None)
            except QueryError as err:
                self._reply(500, str(err).encode())
                return
            self._reply(200, result.bytes() if fmt != "Null" else b"")

        def do_GET(self) -> None:
            self._reply(200, b"Ok.\n")  # /ping, as ClickHouse answers

        def log_message(self, *args: Any) -> None:
            return

    return _StoreServer(store, (host, port), Handler)


class _StoreServer(ThreadingHTTPServer):
    """Closing the server releases the chDB path (one per process: another may then open)."""

    def __init__(self, store: ChdbBackend, *args: Any) -> None:
        super().__init__(*args)
        self.store = store

    def server_close(self) -> None:
        super().server_close()
        self.store.close()
