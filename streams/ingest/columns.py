"""Event records → an Arrow table typed like the ``events`` table: the hot path's insert format.

chDB reads an Arrow table in place (``Python()`` table function) with the GIL released, so a
batch costs one typed array per column (the normalizer builds columns) instead of a JSON object per
row parsed back by ClickHouse. The types here must match ``schemas/clickhouse/001_events.sql``;
a test compares them with ``DESCRIBE TABLE events``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from streams.ingest.normalize import Normalized, Normalizer
from streams.store.layout import EVENTS_SCHEMA

__all__ = ["EVENTS_SCHEMA", "events_table", "events_table_or_quarantine"]


def events_table(columns: Sequence[Sequence[Any]], schema: pa.Schema = EVENTS_SCHEMA) -> pa.Table:
    """One Arrow table from ``Normalized.columns`` (one sequence per column, the row map's order)."""
    if not columns or not columns[0]:
        return schema.empty_table()
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )


_REFUSED = (pa.ArrowException, TypeError, ValueError, OverflowError)


def events_table_or_quarantine(out: Normalized, normalizer: Normalizer) -> pa.Table:
    """The batch's table; should a record not convert (a value the DDL cannot hold), that record
    becomes a dead letter and the rest of the batch is stored: one bad event never stops a batch.
    The native decoder's rows arrive as Arrow already, typed by construction."""
    try:
        table = events_table(out.columns, normalizer.schema)
    except _REFUSED as err:
        bad = []
        for i in range(len(out.columns[0])):
            try:
                events_table([[col[i]] for col in out.columns], normalizer.schema)
            except _REFUSED:
                bad.append(i)
        normalizer.quarantine(out, bad, f"storage refused a value: {err}")
        table = events_table(out.columns, normalizer.schema)
    if not out.native:
        return table
    return pa.concat_tables([*out.native, table]) if table.num_rows else pa.concat_tables(out.native)
