"""What an events insert costs the client, per backend, side by side in one run: the rows a worker
writes (a simulated corpus, normalized) encoded as each server path sends them, and the HTTP path
end to end against ``parcours store serve``'s server (chDB behind ClickHouse's HTTP interface).

- clickhouse-driver, columnar: ``DriverBackend.insert_arrow``'s columns, encoded by the driver's
  own native-protocol block writer (no server here: the bytes it would send are built, not sent);
- clickhouse-driver, the former row path: the table as dicts, then JSONEachRow text;
- HTTP: the Arrow IPC stream ``HttpBackend.insert_arrow`` posts.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.common import corpus
from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.normalize import Normalizer, RawItem
from streams.settings import Settings
from streams.store.backend import ChdbBackend, columnar, encode_rows
from streams.store.http import HttpBackend, arrow_stream, serve
from streams.store.migrations import migrate


def driver_context() -> Any:
    """A clickhouse-driver context as after a handshake with a current server (UTC)."""
    from clickhouse_driver import defines
    from clickhouse_driver.connection import ServerInfo
    from clickhouse_driver.context import Context

    ctx = Context()
    rev = defines.CLIENT_REVISION
    ctx.server_info = ServerInfo("ClickHouse", 25, 8, 0, rev, "UTC", "bench", rev)
    ctx.settings = {}
    ctx.client_settings = {
        "strings_as_bytes": False,
        "strings_encoding": "utf-8",
        "use_numpy": False,
        "input_format_null_as_default": False,
        "namedtuple_as_json": True,
    }
    return ctx


def driver_block(ctx: Any, types: list[tuple[str, str]], data: list[list[Any]]) -> bytes:
    """The native-protocol block clickhouse-driver writes for a columnar insert."""
    from clickhouse_driver.block import ColumnOrientedBlock
    from clickhouse_driver.bufferedwriter import CompressedBufferedWriter
    from clickhouse_driver.streams.native import BlockOutputStream

    chunks: list[bytes] = []

    class Sink:
        def write(self, b: bytes) -> None:
            chunks.append(bytes(b))

    writer = CompressedBufferedWriter(Sink(), 1 << 20)
    BlockOutputStream(writer, ctx).write(ColumnOrientedBlock(types, data, types_check=False))
    return b"".join(chunks)


def driver_read(ctx: Any, raw: bytes) -> list[list[Any]]:
    """The block read back by the driver's reader, as the server would read it: columns of values."""
    from clickhouse_driver.bufferedreader import CompressedBufferedReader
    from clickhouse_driver.streams.native import BlockInputStream

    pieces = iter([raw])
    block = BlockInputStream(CompressedBufferedReader(lambda: next(pieces), 1 << 20), ctx).read()
    return [list(c) for c in block.get_columns()]


def events_table(n: int) -> tuple[pa.Table, list[tuple[str, str]]]:
    """``n`` corpus events as the worker stores them, and the events table's column types."""
    settings = Settings()
    norm = Normalizer(settings)
    now = datetime.now(UTC)
    out = norm.normalize([RawItem(p, f"bench/0/{i}", now) for i, p in enumerate(corpus(n, persons=n // 20))])
    table = events_table_or_quarantine(out, norm)
    with tempfile.TemporaryDirectory() as tmp:
        ch = ChdbBackend(Path(tmp) / "ch")
        migrate(ch)
        types = [(r["name"], r["type"]) for r in ch.query("DESCRIBE TABLE events")]
        ch.close()
    kinds = dict(types)
    return table, [(c, kinds[c]) for c in table.column_names]


def _median_us_per_row(fn: Callable[[], object], rows: int, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / rows * 1e6


def run(n: int = 20_000) -> dict[str, Any]:
    table, types = events_table(n)
    ctx = driver_context()
    rows = table.num_rows
    encode = {
        "driver_columnar": _median_us_per_row(lambda: driver_block(ctx, types, columnar(table)), rows),
        "driver_rows_json": _median_us_per_row(lambda: encode_rows(table.to_pylist()), rows),
        "http_arrow_stream": _median_us_per_row(lambda: arrow_stream(table), rows),
    }
    with tempfile.TemporaryDirectory() as tmp:
        server = serve(Path(tmp) / "ch", "127.0.0.1", 0)  # `parcours store serve`'s server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        http = HttpBackend(f"http://127.0.0.1:{server.server_address[1]}")
        try:
            migrate(http)
            t0 = time.perf_counter()
            http.insert_arrow("events", table)
            http_s = time.perf_counter() - t0
            [stored] = http.query("SELECT count() AS n FROM events")
        finally:
            http.close()
            server.shutdown()
            server.server_close()
    return {
        "rows": rows,
        "client_encode_us_per_row": encode,
        "http_store_serve_end_to_end": {
            "rows_per_s": rows / http_s,
            "seconds": http_s,
            "stored": int(stored["n"]),
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
