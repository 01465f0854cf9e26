"""ClickHouse storage: one interface, three ways to reach it (embedded chDB; a server through
clickhouse-driver's native protocol or over HTTP). ``open_backend`` picks one from the settings."""

from streams.settings import Settings
from streams.store.backend import Backend, ChdbBackend, DriverBackend
from streams.store.http import HttpBackend
from streams.store.migrations import migrate

__all__ = ["Backend", "migrate", "open_backend"]


def open_backend(settings: Settings) -> Backend:
    if settings.clickhouse_url is None:
        return ChdbBackend(settings.chdb_path)
    url = settings.clickhouse_url.get_secret_value()
    if url.startswith(("http://", "https://")):
        return HttpBackend(url)
    return DriverBackend(
        url,
        secure=settings.clickhouse_secure,
        ca_certs=settings.clickhouse_ca_certs,
    )
