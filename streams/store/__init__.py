"""ClickHouse storage: one interface, two backends (embedded chDB, server via clickhouse-driver)."""

from streams.store.backend import Backend, open_backend
from streams.store.migrations import migrate

__all__ = ["Backend", "migrate", "open_backend"]
