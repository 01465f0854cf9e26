"""Every panel's and variable's SQL, expanded as the ClickHouse plugin does, runs on ClickHouse
(empty and filled) and returns the columns the panel reads; the JSON is valid for Grafana 11."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streams.attribution.batch import channel_credits
from streams.grafana.macros import ALL, QueryContext, expand
from streams.grafana.render import DATASOURCE, DATASOURCE_UID, OUT, PLUGIN_TYPE, SCHEMA_VERSION, rendered
from streams.grafana.spec import DASHBOARDS, Dashboard, Panel
from streams.store.backend import ChdbBackend
from tests.grafana.conftest import END, START

PANELS = [(d, p) for d in DASHBOARDS for p in d.panels]
VARIABLES = [(d, v) for d in DASHBOARDS for v in d.variables if v.query]


def context(d: Dashboard, store: ChdbBackend, /, **chosen: Any) -> QueryContext:
    values: dict[str, Any] = {}
    options: dict[str, list[str]] = {}
    for v in d.variables:
        if v.query:
            options[v.name] = [str(next(iter(r.values()))) for r in store.query(v.query)]
        else:
            options[v.name] = list(v.options)
        values[v.name] = chosen.get(v.name, v.default)
    start, end = START, END
    if d.default_range == "now-6h":  # pipeline health is about arrival time: look at now
        end = datetime.now(UTC)
        start = end - timedelta(hours=6)
    return QueryContext(start=start, end=end, interval_s=3600, variables=values, options=options)


def run(store: ChdbBackend, d: Dashboard, p: Panel, /, **chosen: Any) -> list[dict[str, Any]]:
    return store.query(expand(p.sql, context(d, store, **chosen)))


# --- on an empty store (must load without errors) --------------------------------------
@pytest.mark.parametrize(("d", "p"), PANELS, ids=[f"{d.uid}:{p.title}" for d, p in PANELS])
def test_panel_runs_on_an_empty_store(empty: ChdbBackend, d: Dashboard, p: Panel) -> None:
    if empty.query("SELECT count() AS n FROM events")[0]["n"]:
        pytest.skip("store already filled by an earlier test")
    run(empty, d, p)


@pytest.mark.parametrize(("d", "v"), VARIABLES, ids=[f"{d.uid}:{v.name}" for d, v in VARIABLES])
def test_variable_query_runs(empty: ChdbBackend, d: Dashboard, v: Any) -> None:
    rows = empty.query(expand(v.query, context(d, empty)))
    assert all(len(r) == 1 for r in rows)


# --- on simulated data --------------------------------------------------------------------
@pytest.mark.parametrize(("d", "p"), PANELS, ids=[f"{d.uid}:{p.title}" for d, p in PANELS])
def test_panel_returns_rows_of_its_shape(filled: ChdbBackend, d: Dashboard, p: Panel) -> None:
    rows = run(filled, d, p)
    assert rows, "no rows on a simulated week"
    assert list(rows[0]) == list(p.columns)


@pytest.mark.parametrize(("d", "p"), PANELS, ids=[f"{d.uid}:{p.title}" for d, p in PANELS])
def test_panel_runs_as_a_read_only_account_and_through_the_sql_endpoint(
    filled: ChdbBackend, d: Dashboard, p: Panel
) -> None:
    """Grafana's ClickHouse account is ``readonly = 1`` and the worker's endpoint (``dashboards
    preview --worker-url``) refuses a SETTINGS clause: a panel may change no setting, and reads
    the same rows through the guard as directly."""
    from streams.store.guard import read_only_query

    sql = expand(p.sql, context(d, filled))
    assert read_only_query(filled, sql) == filled.query(sql)


@pytest.mark.parametrize(("d", "p"), PANELS, ids=[f"{d.uid}:{p.title}" for d, p in PANELS])
def test_panel_runs_with_every_variable_narrowed(filled: ChdbBackend, d: Dashboard, p: Panel) -> None:
    chosen: dict[str, Any] = {}
    ctx = context(d, filled)
    for v in d.variables:
        if v.multi and ctx.options[v.name]:
            chosen[v.name] = ctx.options[v.name][:1]
    run(filled, d, p, **chosen)


def test_attribution_panel_agrees_with_the_python_api(filled: ChdbBackend) -> None:
    from streams.grafana.spec import ATTRIBUTION

    [panel] = [p for p in ATTRIBUTION.panels if p.title.startswith("Attributed conversions by channel")]
    for model in ("linear", "first_touch", "time_decay"):
        shown = {r["channel"]: r["conversions"] for r in run(filled, ATTRIBUTION, panel, model=model, source="batch")}
        api = {r["channel"]: round(r["conversions"], 2) for r in channel_credits(filled, model, START, END)}
        assert shown == pytest.approx(api, abs=0.011), model
        assert sum(shown.values()) > 100


def test_conditional_all_narrows(filled: ChdbBackend) -> None:
    from streams.grafana.spec import STORES

    [panel] = [p for p in STORES.panels if p.title == "Fitting-room sessions per store"]
    every = run(filled, STORES, panel, store=ALL)
    one = run(filled, STORES, panel, store=["paris-01"])
    assert {r["store_id"] for r in one} == {"paris-01"}
    assert len({r["store_id"] for r in every}) > 1


def test_flagged_accounts_are_excluded_from_headlines(filled: ChdbBackend) -> None:
    from streams.grafana.spec import COMMUNITY

    flagged = {r["reason"]: r for r in run(filled, COMMUNITY, COMMUNITY.panels[6], rate_flag="10")}
    assert isinstance(flagged, dict)
    objectives = {r["objective"]: r for r in run(filled, COMMUNITY, COMMUNITY.panels[3])}
    assert set(objectives) == {"visibility", "amplification", "traffic", "interaction", "satisfaction"}
    assert objectives["traffic"]["target"] == 2000


# --- the JSON itself ------------------------------------------------------------------------
def test_rendered_json_is_up_to_date() -> None:
    for name, text in rendered().items():
        assert (OUT / name).read_text() == text, f"{name} is stale: run `make dashboards`"


def test_json_is_valid_for_grafana_12() -> None:
    uids = set()
    for name in rendered():
        dash = json.loads((OUT / name).read_text())
        assert dash["schemaVersion"] == SCHEMA_VERSION
        assert dash["uid"] not in uids and len(dash["uid"]) <= 40
        uids.add(dash["uid"])
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids))
        for p in dash["panels"]:
            assert p["datasource"] == DATASOURCE == {"type": PLUGIN_TYPE, "uid": "${datasource}"}
            assert all(t["datasource"] == DATASOURCE for t in p["targets"])
            g = p["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24
        [ds, *rest] = dash["templating"]["list"]
        # a datasource variable first, defaulting to the provisioned uid: another Grafana's uid works too
        assert ds["type"] == "datasource" and ds["query"] == PLUGIN_TYPE and ds["current"]["value"] == DATASOURCE_UID
        for v in rest:
            if v["type"] == "query":
                assert v["datasource"] == DATASOURCE and v["refresh"] == 1  # on load, not on every time change


def test_provisioned_datasource_matches_the_dashboards() -> None:
    text = (OUT.parent / "provisioning" / "datasources" / "clickhouse.yaml").read_text()
    assert f"uid: {DATASOURCE_UID}" in text and f"type: {PLUGIN_TYPE}" in text


def test_expand_matches_the_plugin() -> None:
    ctx = QueryContext(
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=datetime(2026, 3, 2, tzinfo=UTC),
        interval_s=0.2,
        variables={"s": ["a", "b"], "m": "linear", "all": ALL},
        options={"all": ["x", "y"]},
    )
    assert expand("$__timeFilter(t)", ctx) == "t >= toDateTime(1772323200) AND t <= toDateTime(1772409600)"
    assert expand("$__timeFilter_ms(t)", ctx) == (
        "t >= fromUnixTimestamp64Milli(1772323200000) AND t <= fromUnixTimestamp64Milli(1772409600000)"
    )
    assert expand("$__timeInterval(t)", ctx) == "toStartOfInterval(toDateTime(t), INTERVAL 1 second)"
    assert expand("$__interval_s", ctx) == "1"
    assert expand("$__dateFilter(d)", ctx) == "d >= toDate('2026-03-01') AND d <= toDate('2026-03-02')"
    assert expand("x IN ($s) AND m = '$m'", ctx) == "x IN ('a','b') AND m = 'linear'"
    assert expand("$__conditionalAll(x IN ($all), $all)", ctx) == "1=1"
    assert expand("$__conditionalAll(x IN (${s}), ${s})", ctx) == "x IN ('a','b')"
    assert expand("y IN ($all)", ctx) == "y IN ('x','y')"
    # added by the plugin after 4.5 (pkg/macros/macros.go in 4.20.0)
    assert expand("$__timeFrom(t)", ctx) == "t >= toDateTime(1772323200)"
    assert expand("$__timeTo(t)", ctx) == "t <= toDateTime(1772409600)"
    assert expand("$__timeGroup(t, 5m)", ctx) == "toStartOfInterval(toDateTime(t), INTERVAL 300 second)"
    assert expand("$__timeGroup(t, '1h')", ctx) == "toStartOfInterval(toDateTime(t), INTERVAL 3600 second)"


@pytest.mark.parametrize("value", ["x') OR 1=1 --", "'; DROP TABLE events; --", "a\\' UNION ALL SELECT 1 --"])
def test_hostile_variable_values_cannot_change_data(filled: ChdbBackend, value: str) -> None:
    """Grafana substitutes variable values as text (the plugin cannot bind them); ClickHouse runs
    one statement per query and the datasource user is read-only, so the worst is an error."""
    from streams.errors import QueryError
    from streams.grafana.spec import STORES

    before = filled.query("SELECT count() AS n FROM events")
    for p in STORES.panels:
        with contextlib.suppress(QueryError):  # an error is an acceptable outcome; a change is not
            run(filled, STORES, p, store=[value])
    assert filled.query("SELECT count() AS n FROM events") == before
