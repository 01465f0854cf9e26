"""Each dashboard's heaviest panel on 10,000,000 stored events, in milliseconds (median of 3).

The events are generated inside ClickHouse (INSERT … SELECT FROM numbers()) with the
simulator's mix of types and channels, so the 10M rows take seconds, not the pipeline's time.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from streams.grafana.macros import QueryContext, expand
from streams.grafana.spec import DASHBOARDS
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate, sql_files, statements

END = datetime(2026, 3, 8, tzinfo=UTC)
START = END - timedelta(days=30)
TYPES = [
    ("page_view", "web", 30),
    ("product_view", "web", 25),
    ("add_to_cart", "web", 4),
    ("order_completed", "web", 2),
    ("like", "social", 6),
    ("comment", "social", 2),
    ("question", "social", 1),
    ("brand_reply", "social", 1),
    ("qr_scan", "tv", 3),
    ("second_screen_checkin", "tv", 2),
    ("store_visit", "store", 5),
    ("fitting_room_entered", "store", 3),
    ("item_tried", "store", 8),
    ("pos_purchase", "store", 1),
    ("assistance_requested", "store", 1),
    ("assistance_answered", "store", 1),
    ("look_shared", "store", 1),
    ("spot_aired", "tv", 0.01),
    ("post_published", "social", 0.01),
]
TOUCH = {
    "page_view": "['direct','web/paid-search','web/email','web/organic-search','']",
    "like": "['social/instagram/organic']",
    "comment": "['social/facebook/organic']",
    "question": "['social/facebook/organic']",
    "qr_scan": "['tv/second-screen']",
    "second_screen_checkin": "['tv/second-screen']",
    "store_visit": "['store/visit']",
    "fitting_room_entered": "['store/fitting-room']",
    "look_shared": "['store/fitting-room']",
}


def fill(store: ChdbBackend, n: int) -> float:
    weights = [w for *_, w in TYPES]
    cum, acc = [], 0.0
    for w in weights:
        acc += w / sum(weights)
        cum.append(acc)
    pick = "multiIf(" + ", ".join(f"r < {c:.6f}, {i}" for i, c in enumerate(cum[:-1])) + f", {len(TYPES) - 1})"
    types = "[" + ",".join(f"'{t}'" for t, _, _ in TYPES) + "]"
    chans = "[" + ",".join(f"'{c}'" for _, c, _ in TYPES) + "]"
    touch = "[" + ",".join(TOUCH.get(t, "['']") for t, _, _ in TYPES) + "]"
    t0 = time.perf_counter()
    # The touches view, fed block by block, doubled the fill (2M events: 22.4 s against 10.7 s
    # without it); detached for the bulk insert, the migration's own backfill statement then fills
    # the table in one pass (2.6 s), to the same rows.
    store.execute("DETACH TABLE touches_by_identifier_mv")
    store.execute(f"""
        INSERT INTO events (event_id, type, channel, occurred_at, received_at, event_time, primary_identifier,
            identifiers, anonymous_id, touch_channel, is_conversion, revenue, cost, store_id, session_id, sku, skus,
            post_id, reply_to_id, network, spot_id, tv_channel, tv_programme, utm_campaign, properties, ingested_at)
        SELECT generateUUIDv4(number) AS event_id, {types}[k + 1] AS type, {chans}[k + 1] AS channel,
            toDateTime64('{START:%Y-%m-%d %H:%M:%S}', 3, 'UTC') + toIntervalSecond(rand(1) % (30 * 86400)) AS t,
            t + toIntervalMillisecond(rand(2) % 2000), t, concat('anon:ck-', toString(rand(3) % 400000)),
            [concat('anon:ck-', toString(rand(3) % 400000))], concat('ck-', toString(rand(3) % 400000)),
            {touch}[k + 1][1 + rand(4) % length({touch}[k + 1])],
            type IN ('order_completed', 'pos_purchase') AS is_conversion, if(is_conversion, 20 + rand(5) % 300, 0),
            if(type = 'spot_aired', 10000 + rand(6) % 30000, 0),
            if(channel = 'store', ['paris-01','lyon-01','lille-01','nantes-01'][1 + rand(7) % 4], ''),
            if(channel = 'store', concat('s-', toString(rand(8) % 200000)), ''),
            if(type = 'item_tried', concat('sku-', toString(rand(9) % 300)), ''),
            if(type = 'pos_purchase', [concat('sku-', toString(rand(9) % 300))], []),
            if(channel = 'social' OR type = 'look_shared', concat('post-', toString(rand(10) % 500)), ''),
            if(type IN ('question', 'brand_reply'), concat('q-', toString(rand(11) % 20000)), ''),
            if(channel = 'social', 'instagram', ''), if(channel = 'tv', concat('spot-', toString(rand(12) % 200)), ''),
            if(channel = 'tv', 'tf1', ''), if(channel = 'tv', 'Le 20h', ''), '',
            if(type LIKE 'assistance%', concat('{{"request_id":"a-', toString(rand(13) % 100000), '"}}'), '{{}}'),
            t + toIntervalSecond(1)
        FROM (SELECT number, rand(0) / 4294967296 AS r, {pick} AS k FROM numbers({n}))
        SETTINGS max_insert_threads = 2""")
    store.execute("ATTACH TABLE touches_by_identifier_mv")
    store.execute(_touches_backfill() + " SETTINGS max_insert_threads = 2")
    store.execute("""
        INSERT INTO identity_map (identifier, person_id, version, linked_at, rule)
        SELECT concat('anon:ck-', toString(number)), concat('p', toString(intDiv(number, 3))), 1, now64(3), 'linked'
        FROM numbers(400000)""")
    store.execute("""
        INSERT INTO journeys SELECT event_id, 'live', concat('p', toString(cityHash64(primary_identifier) % 133333)),
            type, event_time, revenue, ['direct','web/email','tv/second-screen'], [event_time, event_time, event_time],
            3, 1, now64(3) FROM events WHERE is_conversion = 1""")
    store.execute("""
        INSERT INTO attribution_credits SELECT m, 'live', conversion_id, person_id, conversion_time, c, 1/3,
            revenue/3, now64(3) FROM journeys ARRAY JOIN path AS c
            ARRAY JOIN ['first_touch','last_touch','linear','position_based','time_decay'] AS m""")
    return time.perf_counter() - t0


def _touches_backfill() -> str:
    [sql] = [
        stmt
        for path in sql_files()
        if path.name == "007_touches.sql"
        for stmt in statements(path.read_text())
        if "INSERT INTO touches_by_identifier" in stmt
    ]
    return sql


def _ms(store: ChdbBackend, sql: str) -> float:
    t0 = time.perf_counter()
    store.query(sql)
    return (time.perf_counter() - t0) * 1000


def run(n: int = 10_000_000) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="parcours-dash-"))
    store = ChdbBackend(root / "ch")
    try:
        return _measure(store, n)
    finally:  # 10M events are ~1.2 GB on disk: never left behind in /tmp
        store.close()
        shutil.rmtree(root, ignore_errors=True)


def _measure(store: ChdbBackend, n: int) -> dict[str, Any]:
    migrate(store)
    out: dict[str, Any] = {"events": n, "fill_seconds": fill(store, n)}
    [count] = store.query("SELECT count() AS n FROM events")
    out["stored"] = count["n"]
    per_dashboard = {}
    for d in DASHBOARDS:
        ctx = QueryContext(
            start=START,
            end=END if d.default_range != "now-6h" else datetime.now(UTC),
            interval_s=3600,
            variables={v.name: v.default for v in d.variables},
            options={
                v.name: [str(next(iter(r.values()))) for r in store.query(v.query)] if v.query else list(v.options)
                for v in d.variables
            },
        )
        # Every panel once to find the heaviest, which then runs twice more for a median of three:
        # three runs of every panel took ~160 s of a suite that must fit in 20 minutes.
        sqls = {p.title: expand(p.sql, ctx) for p in d.panels}
        timings = {title: _ms(store, sql) for title, sql in sqls.items()}
        heaviest = max(timings, key=timings.__getitem__)
        runs = [timings[heaviest], _ms(store, sqls[heaviest]), _ms(store, sqls[heaviest])]
        per_dashboard[d.uid] = {
            "heaviest_panel": heaviest,
            "ms": statistics.median(runs),
            "runs_ms": runs,
            "all_ms_one_run": timings,
        }
    out["dashboards"] = per_dashboard
    return out
