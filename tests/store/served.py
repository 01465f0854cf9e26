"""A chDB store served over ClickHouse's HTTP interface in this process, migrated, and a client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.store.http import HttpBackend, serve
from streams.store.migrations import migrate


@contextmanager
def store_server(path: Path) -> Iterator[HttpBackend]:
    server = serve(path, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backend = HttpBackend(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        migrate(backend)
        yield backend
    finally:
        backend.close()
        server.shutdown()
        server.server_close()
