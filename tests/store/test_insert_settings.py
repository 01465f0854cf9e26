"""The Arrow insert's settings reach a ClickHouse server on every backend, not only chDB: over
HTTP as URL arguments, through clickhouse-driver as query settings (no server runs here, so the
requests are captured)."""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa

from streams.store.backend import ARROW_INSERT_SETTINGS, DriverBackend
from streams.store.http import HttpBackend

TABLE = pa.table({"event_id": ["00000000-0000-4000-8000-000000000001"], "type": ["like"]})


def test_an_arrow_insert_over_http_carries_the_settings_as_url_arguments() -> None:
    seen: list[dict[str, list[str]]] = []

    class Capture(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backend = HttpBackend(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        backend.insert_arrow("events", TABLE)
        backend.execute("SELECT 1")
    finally:
        backend.close()
        server.shutdown()
        server.server_close()
    insert, other = seen
    assert insert["optimize_on_insert"] == ["0"] and insert["query"][0].startswith("INSERT INTO events")
    assert "optimize_on_insert" not in other  # only Arrow inserts skip the collapse


def test_an_arrow_insert_through_clickhouse_driver_passes_the_settings() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    class Client:
        def execute(self, sql: str, *args: Any, **kw: Any) -> None:
            calls.append((sql, kw))

    backend = DriverBackend("clickhouse://parcours@127.0.0.1:9000/parcours")
    backend._client = Client()  # type: ignore[assignment]  # constructing the real one connects to nothing yet
    backend.insert_arrow("events", TABLE)
    backend.insert_arrow("events", TABLE.slice(0, 0))  # an empty batch sends nothing
    [(sql, kw)] = calls
    assert sql.startswith("INSERT INTO events") and kw["settings"] == ARROW_INSERT_SETTINGS == {"optimize_on_insert": 0}
