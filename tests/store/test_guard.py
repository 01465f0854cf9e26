"""The read-only guard on both store paths: chDB embedded (settings close the engine's canonical
text) and ClickHouse's HTTP interface (settings as URL arguments, here ``parcours store serve``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from streams.errors import QueryError, RefusedQuery
from streams.store.backend import ChdbBackend
from streams.store.guard import ReadLimits, read_only_query, refusal
from streams.store.http import HttpBackend, serve
from streams.store.migrations import migrate
from tests.store.escapes import ESCAPES


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChdbBackend, HttpBackend]]:
    server = serve(tmp_path_factory.mktemp("guard") / "ch", "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = HttpBackend(f"http://127.0.0.1:{server.server_address[1]}")
    migrate(client)
    try:
        yield server.store, client
    finally:
        client.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("attempt", ESCAPES)
def test_every_escape_is_refused_on_both_paths(both: tuple[ChdbBackend, HttpBackend], attempt: str) -> None:
    for backend in both:
        tables = backend.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
        with pytest.raises(QueryError):
            read_only_query(backend, attempt)
        assert backend.query("SELECT name FROM system.tables WHERE database = currentDatabase()") == tables


def test_comments_and_parameters_stay_what_they_are(both: tuple[ChdbBackend, HttpBackend]) -> None:
    for backend in both:
        assert read_only_query(backend, "SELECT getSetting('readonly') AS r -- SETTINGS readonly = 0") == [{"r": 1}]
        assert read_only_query(backend, "SELECT getSetting('allow_ddl') AS d /* x */") == [{"d": False}]
        hostile = "x'); DROP TABLE events; --\n\t\\"
        assert read_only_query(backend, "SELECT {v:String} AS v", {"v": hostile}) == [{"v": hostile}]


def test_limits_are_enforced_by_the_engine(both: tuple[ChdbBackend, HttpBackend]) -> None:
    limits = ReadLimits(max_execution_time_s=1, max_result_rows=10)
    for backend in both:
        with pytest.raises(QueryError, match="Limit for result exceeded"):
            read_only_query(backend, "SELECT x FROM system.one ARRAY JOIN range(11) AS x", limits=limits)
        with pytest.raises(QueryError, match="Timeout exceeded"):  # ~2e10 rows, little memory
            read_only_query(
                backend,
                "SELECT sum(cityHash64(a.name, b.name, c.name)) AS h "
                "FROM system.columns AS a, system.columns AS b, system.columns AS c",
                limits=limits,
            )


def test_a_clients_url_settings_hold_on_the_store_server(both: tuple[ChdbBackend, HttpBackend]) -> None:
    _, http = both
    assert http.query("SELECT getSetting('readonly') AS r --", settings={"readonly": 1}) == [{"r": 1}]
    with pytest.raises(QueryError, match="readonly"):
        http.query("SELECT 1 SETTINGS readonly = 0", settings={"readonly": 1})
    with pytest.raises(QueryError):
        http.query("SELECT 1; DROP TABLE events", settings={"readonly": 1})


def test_refusal_reads_the_engines_tree() -> None:
    ok = ["SelectWithUnionQuery (children 1)", " ExpressionList (children 1)", "  Identifier e.person_id"]
    assert refusal(ok, current_db="default", databases={"default", "system"}) is None
    tf = ["SelectWithUnionQuery (children 1)", "     TableExpression (children 1)", "      Function numbers"]
    assert refusal(tf, current_db="default", databases={"default"}) == "table function numbers() is not allowed"
    sysq = ["SelectWithUnionQuery (children 1)", "      TableIdentifier system.parts"]
    assert refusal(sysq, current_db="default", databases={"default", "system"}) is None
    with pytest.raises(AssertionError):
        assert refusal(["SelectWithUnionQuery (children 3)"], current_db="d", databases=set()) is None


def test_a_refusal_is_typed(both: tuple[ChdbBackend, HttpBackend]) -> None:
    with pytest.raises(RefusedQuery, match="table function file"):
        read_only_query(both[0], "SELECT * FROM file('/etc/passwd', 'LineAsString')")
    with pytest.raises(RefusedQuery, match="not one SQL statement"):
        read_only_query(both[0], "SELECT 1; SELECT 2")
