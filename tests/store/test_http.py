"""Arrow inserts over ClickHouse's HTTP interface: an ArrowStream body, through the store server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from streams.errors import QueryError
from streams.settings import Settings
from streams.store.http import HttpBackend, arrow_insert_sql, arrow_stream
from tests.samples import SAMPLES
from tests.store.inserts import arrow_and_row_inserts, stored_twice_in_one_block
from tests.store.served import store_server


@pytest.fixture
def http_store(tmp_path: Path) -> Iterator[HttpBackend]:
    with store_server(tmp_path / "ch") as backend:
        yield backend


def test_an_arrow_insert_over_http_stores_the_same_rows_as_the_row_insert(
    http_store: HttpBackend, settings: Settings
) -> None:
    a, b = arrow_and_row_inserts(http_store, settings)
    assert len(a) == len(SAMPLES) and a == b


def test_an_arrow_batch_over_http_is_stored_without_collapsing_and_read_once(
    http_store: HttpBackend, settings: Settings
) -> None:
    assert stored_twice_in_one_block(http_store, settings) == (2, 1)


def test_a_bad_arrow_body_is_a_query_error_and_the_server_goes_on(http_store: HttpBackend) -> None:
    with pytest.raises(QueryError, match="ArrowStream"):
        http_store._post(arrow_insert_sql("events", ["event_id"]), b"not arrow", None, None)
    wrong = pa.table({"event_id": ["x"], "type": ["like"]})
    with pytest.raises(QueryError, match="columns"):
        http_store._post(arrow_insert_sql("events", ["event_id"]), arrow_stream(wrong), None, None)
    assert http_store.query("SELECT count() AS n FROM events") == [{"n": 0}]
