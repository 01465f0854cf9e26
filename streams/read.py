"""Reading the store from outside the worker.

chDB allows one process per data path, and the worker owns it while it runs. A reader asks
the worker's ``/v1/sql`` endpoint when a worker answers; otherwise it opens the store itself.
With a ClickHouse server (``PARCOURS_CLICKHOUSE_URL``) it always connects directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from streams.errors import QueryError, StoreUnavailable
from streams.settings import Settings
from streams.store import open_backend
from streams.store.backend import MANY_IDS_PER_QUERY, Backend, Row


class WorkerReader:
    """Read-only Backend over the worker's HTTP endpoint."""

    name = "worker"
    max_query_ids = MANY_IDS_PER_QUERY  # parameters travel in a POST body

    def __init__(self, settings: Settings) -> None:
        self._base = f"http://{settings.web_host}:{settings.web_port}"
        self._token = settings.admin_token.get_secret_value() if settings.admin_token else ""

    def post(self, path: str, body: Mapping[str, Any] | bytes, *, timeout: float = 60) -> dict[str, Any]:
        """POST JSON (or a file's bytes) to an admin endpoint of the worker; errors become Parcours
        errors."""
        import urllib.request

        raw = isinstance(body, bytes)
        req = urllib.request.Request(
            self._base + path,
            data=body if isinstance(body, bytes) else orjson.dumps(body),
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/octet-stream" if raw else "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return dict(orjson.loads(resp.read()))
        except urllib.error.HTTPError as err:
            raise QueryError(orjson.loads(err.read()).get("message", str(err))) from err
        except OSError as err:
            raise StoreUnavailable(f"worker not reachable at {self._base}: {err}") from err

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, settings: Mapping[str, int | str] | None = None
    ) -> list[Row]:
        # ``settings`` are the worker's to set: its endpoint runs every statement read-only and bounded
        return list(self.post("/v1/sql", {"sql": sql, "params": dict(params or {})})["rows"])

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        raise QueryError("the worker's endpoint is read-only; stop the worker to write to chDB")

    def insert(self, table: str, rows: Any) -> None:
        self.execute("")

    def insert_arrow(self, table: str, data: Any) -> None:
        self.execute("")

    def close(self) -> None:
        return None


def worker_running(settings: Settings) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{settings.web_host}:{settings.web_port}/v1/health", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered (503 = degraded, still running)
    except OSError:
        return False


def open_reader(settings: Settings) -> Backend:
    if settings.embedded and worker_running(settings):
        if not settings.admin_token:
            raise StoreUnavailable("a worker owns the embedded store; set PARCOURS_ADMIN_TOKEN to read through it")
        return WorkerReader(settings)
    if settings.embedded and not settings.chdb_path.exists():  # a reader creates no store
        raise StoreUnavailable(
            f"no store at {settings.chdb_path}: start a worker or `make demo` first, or point at one with "
            "--data-dir DIR or --worker-url URL"
        )
    return open_backend(settings)
