"""The dashboards, as code. ``render`` turns them into Grafana JSON under ``dashboards/``.

Every query is plain ClickHouse SQL with the plugin's macros; tests expand and run each one.
Time filters use event time (``event_time``) or conversion time, never arrival time — except
the pipeline-health dashboard, which is about arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["timeseries", "barchart", "table", "stat", "piechart", "bargauge"]


@dataclass(frozen=True, kw_only=True)
class Panel:
    title: str
    kind: Kind
    sql: str
    description: str = ""
    unit: str = "short"
    width: int = 12
    height: int = 8
    columns: tuple[str, ...] = ()  # the columns the panel reads (tests check the shape)
    field_units: tuple[tuple[str, str], ...] = ()  # (column, unit) where a column's unit is not ``unit``


@dataclass(frozen=True, kw_only=True)
class Variable:
    name: str
    label: str
    query: str = ""  # a ClickHouse query returning the options
    options: tuple[str, ...] = ()  # or fixed options (custom variable)
    default: str = "$__all"
    multi: bool = True
    include_all: bool = True


@dataclass(frozen=True, kw_only=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = ("parcours",)
    default_range: str = "now-7d"


# --- shared variables -------------------------------------------------------------------
FAMILY = Variable(
    name="family",
    label="Channel family",
    query="SELECT DISTINCT splitByChar('/', touch_channel)[1] AS f FROM events_dedup "
    "WHERE touch_channel != '' ORDER BY f",
)
STORE = Variable(
    name="store",
    label="Store",
    query="SELECT DISTINCT store_id FROM events_dedup WHERE store_id != '' ORDER BY store_id",
)
MODEL = Variable(
    name="model",
    label="Model",
    default="linear",
    multi=False,
    include_all=False,
    # The models both sources compute (live: PARCOURS_LIVE_MODELS' default); J-curve, inverse J and
    # participation exist in batch runs only, and participation's totals are not conserved.
    options=("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay"),
)
SOURCE = Variable(
    name="source", label="Credits", default="live", multi=False, include_all=False, options=("live", "batch")
)

_CREDITS = (
    "attribution_credits FINAL WHERE model = '$model' AND source = '$source' "
    "AND $__timeFilter(conversion_time) "
    "AND $__conditionalAll(splitByChar('/', channel)[1] IN ($family), $family) "
    "AND $__conditionalAll(conversion_id IN (SELECT event_id FROM events_dedup WHERE is_conversion = 1 "
    "AND store_id IN ($store)), $store)"
)

_STORE_FILTER = "$__conditionalAll(store_id IN ($store), $store)"
BRAND_TZ = "Europe/Paris"  # days and hours as the brand reads them (the simulator's default tz)
# In-store sales whose buyer, as the identity map knows them now, has a web, social or TV event
# in the range or the lookback before it: the founding question, and what the rest is read against.
_SESSION_SHOPPERS = (
    "SELECT session_id, person_id, event_time AS started FROM events_stitched "
    "WHERE type = 'fitting_room_entered' AND session_id != '' "
    "UNION ALL SELECT f.session_id, c.person_id, f.started FROM (SELECT session_id, store_id, fitting_room_id, "
    "event_time AS started FROM events_dedup WHERE type = 'fitting_room_entered' AND session_id != '') AS f "
    "INNER JOIN (SELECT store_id, fitting_room_id, person_id, event_time FROM events_stitched "
    "WHERE type = 'loyalty_scan' AND person_id != '') AS c "
    "ON c.store_id = f.store_id AND c.fitting_room_id = f.fitting_room_id "
    "WHERE c.event_time >= f.started AND c.event_time < f.started + INTERVAL 10 MINUTE"
)
LINK_RATE = Panel(
    title="In-store sales linked to an online, social or TV history",
    kind="table",
    width=24,
    height=5,
    description="Person-level: the till sale's identifiers (loyalty card, e-receipt, app) reach a person "
    "who was seen on the web, social pages or TV. The rest is counted, not hidden: it is the "
    "'no linked touchpoint' row of the attribution panels.",
    columns=("purchases", "revenue", "linked_purchases", "linked_revenue", "link_rate"),
    sql="SELECT count() AS purchases, round(sum(amount), 2) AS revenue, countIf(linked) AS linked_purchases, "
    "round(sumIf(amount, linked), 2) AS linked_revenue, "
    "if(sum(amount) > 0, round(sumIf(amount, linked) / sum(amount), 3), 0) AS link_rate FROM ("
    "SELECT revenue AS amount, person_id != '' AND person_id IN (SELECT person_id FROM events_stitched "
    "WHERE person_id != '' AND channel IN ('web', 'social', 'tv') "
    "AND event_time >= $__fromTime - INTERVAL 30 DAY AND $__timeTo(event_time)) AS linked "
    "FROM events_stitched WHERE type = 'pos_purchase' AND $__timeFilter(event_time) "
    f"AND {_STORE_FILTER})",
)
ATTRIBUTION = Dashboard(
    uid="parcours-attribution",
    title="Parcours · Cross-channel attribution",
    description="Which channels — web, social, TV, store — earned the conversions and revenue, per model.",
    # No campaign filter: credits are per channel, and spend filtered alone would skew the ratio.
    variables=(MODEL, SOURCE, FAMILY, STORE),
    panels=(
        LINK_RATE,
        Panel(
            title="Attributed conversions by channel ($model)",
            kind="barchart",
            columns=("channel", "conversions"),
            sql=f"SELECT channel, round(sum(credit), 2) AS conversions FROM {_CREDITS} "
            "GROUP BY channel ORDER BY conversions DESC",
        ),
        Panel(
            title="Attributed revenue by channel ($model)",
            kind="barchart",
            unit="currencyEUR",
            columns=("channel", "revenue"),
            sql=f"SELECT channel, round(sum(revenue_credit), 2) AS revenue FROM {_CREDITS} "
            "GROUP BY channel ORDER BY revenue DESC",
        ),
        Panel(
            title="Attributed conversions over time",
            kind="timeseries",
            width=24,
            columns=("time", "channel", "conversions"),
            sql=f"SELECT $__timeInterval(conversion_time) AS time, channel, sum(credit) AS conversions "
            f"FROM {_CREDITS} GROUP BY time, channel ORDER BY time",
        ),
        Panel(
            title="Models side by side (conversions)",
            kind="table",
            width=24,
            description="Rule-based models per conversion; Markov and Shapley from the latest batch run.",
            columns=(
                "channel",
                "first_touch",
                "last_touch",
                "linear",
                "position_based",
                "time_decay",
                "markov",
                "shapley",
            ),
            sql="SELECT c.channel AS channel, c.first_touch, c.last_touch, c.linear, c.position_based, "
            # a channel no data-driven run credits is blank, not 0, on any server (no SETTINGS clause:
            # Grafana's read-only account and the read-only endpoint may change no setting)
            "c.time_decay, if(d.found = 1, d.markov, NULL) AS markov, if(d.found = 1, d.shapley, NULL) AS shapley "
            "FROM ("
            "SELECT channel, round(sumIf(credit, model = 'first_touch'), 2) AS first_touch, "
            "round(sumIf(credit, model = 'last_touch'), 2) AS last_touch, "
            "round(sumIf(credit, model = 'linear'), 2) AS linear, "
            "round(sumIf(credit, model = 'position_based'), 2) AS position_based, "
            "round(sumIf(credit, model = 'time_decay'), 2) AS time_decay "
            "FROM attribution_credits FINAL WHERE source = '$source' AND $__timeFilter(conversion_time) "
            "GROUP BY channel) AS c LEFT JOIN ("
            "SELECT channel, 1 AS found, round(sumIf(conversions, model = 'markov'), 2) AS markov, "
            "round(sumIf(conversions, model = 'shapley'), 2) AS shapley FROM attribution_channel_totals FINAL "
            # the latest batch run whose period covers the dashboard's range: blank, not 0, without one
            "WHERE run_id = (SELECT argMax(run_id, computed_at) FROM attribution_channel_totals "
            "WHERE period_start <= $__fromTime_ms AND period_end >= $__toTime_ms) GROUP BY channel"
            ") AS d ON d.channel = c.channel ORDER BY c.linear DESC",
        ),
        Panel(
            title="Cost per attributed conversion and return on spend ($model)",
            kind="table",
            width=24,
            description="Spend: TV spot costs and paid social from events, other channels from `parcours load spend`.",
            columns=("channel", "spend", "conversions", "revenue", "cost_per_conversion", "roas"),
            sql=f"SELECT s.channel AS channel, round(s.spend, 2) AS spend, round(a.conversions, 2) AS conversions, "
            "round(a.revenue, 2) AS revenue, "
            "if(a.conversions > 0, round(s.spend / a.conversions, 2), NULL) AS cost_per_conversion, "
            "if(s.spend > 0, round(a.revenue / s.spend, 3), NULL) AS roas FROM ("
            "SELECT channel, sum(amount) AS spend FROM spend_by_channel "
            # the brand's days the range covers: a 7-day range ending at midnight bills 7 days, not 8
            f"WHERE day >= toDate($__fromTime, '{BRAND_TZ}') AND day < toDate($__toTime, '{BRAND_TZ}') "
            "GROUP BY channel) AS s LEFT JOIN ("
            f"SELECT channel, sum(credit) AS conversions, sum(revenue_credit) AS revenue FROM {_CREDITS} "
            "GROUP BY channel) AS a ON a.channel = s.channel ORDER BY spend DESC",
        ),
    ),
)

_JOURNEYS = "journeys FINAL WHERE source = '$source' AND $__timeFilter(conversion_time)"

JOURNEYS = Dashboard(
    uid="parcours-journeys",
    title="Parcours · Journeys",
    description="Converting paths, time and touches to conversion, cross-channel share, funnels.",
    variables=(SOURCE, STORE),
    panels=(
        Panel(
            title="Top converting paths",
            kind="table",
            width=24,
            columns=("path", "conversions", "revenue"),
            sql="SELECT if(length(path) = 0, 'no linked touchpoint', arrayStringConcat(path, ' > ')) AS path, "
            f"count() AS conversions, round(sum(revenue), 2) AS revenue FROM {_JOURNEYS} "
            "GROUP BY path ORDER BY conversions DESC LIMIT 20",
        ),
        Panel(
            title="Time to conversion (hours)",
            kind="stat",
            unit="h",
            width=6,
            columns=("median_hours", "p90_hours"),
            sql="SELECT round(quantile(0.5)(dateDiff('second', path_times[1], conversion_time)) / 3600, 1) "
            "AS median_hours, round(quantile(0.9)(dateDiff('second', path_times[1], conversion_time)) / 3600, 1)"
            f" AS p90_hours FROM {_JOURNEYS} AND touches > 0",
        ),
        Panel(
            title="Touches to conversion",
            kind="barchart",
            width=6,
            columns=("touches", "conversions"),
            sql=f"SELECT toString(least(touches, 10)) AS touches, count() AS conversions FROM {_JOURNEYS} "
            "GROUP BY touches ORDER BY toUInt16(touches)",
        ),
        Panel(
            title="Journeys crossing channels",
            kind="stat",
            unit="percentunit",
            width=6,
            columns=("cross_channel_share",),
            sql=f"SELECT round(avg(cross_channel), 3) AS cross_channel_share FROM {_JOURNEYS} AND touches > 0",
        ),
        Panel(
            title="Online vs in-store conversions",
            kind="piechart",
            width=6,
            columns=("conversion_type", "conversions"),
            sql=f"SELECT conversion_type, count() AS conversions FROM {_JOURNEYS} GROUP BY conversion_type",
        ),
        Panel(
            title="Where journeys start and end",
            kind="table",
            columns=("channel", "starts", "ends"),
            sql=f"SELECT ch AS channel, countIf(pos = 'start') AS starts, countIf(pos = 'end') AS ends FROM ("
            f"SELECT path[1] AS ch, 'start' AS pos FROM {_JOURNEYS} AND touches > 0 UNION ALL "
            f"SELECT path[-1], 'end' FROM {_JOURNEYS} AND touches > 0) GROUP BY channel ORDER BY starts DESC",
        ),
        Panel(
            title="Channel families crossed",
            kind="table",
            columns=("families", "journeys"),
            sql="SELECT arrayStringConcat(arraySort(arrayDistinct(arrayMap(c -> splitByChar('/', c)[1], path))), "
            f"' + ') AS families, count() AS journeys FROM {_JOURNEYS} AND touches > 0 "
            "GROUP BY families ORDER BY journeys DESC, families LIMIT 15",
        ),
        Panel(
            title="Web funnel: product view → add to cart → order (persons)",
            kind="barchart",
            columns=("step", "persons"),
            description="Persons who viewed a product, then added to cart, then ordered, within a day, in "
            "that order (one person per identity the stitcher knows).",
            sql="SELECT step, persons FROM (SELECT arrayJoin([1, 2, 3]) AS n, "
            "['product view', 'add to cart', 'order'][n] AS step, countIf(level >= n) AS persons FROM ("
            "SELECT person_id, windowFunnel(86400)(toDateTime(event_time), type = 'product_view', "
            "type = 'add_to_cart', type = 'order_completed') AS level FROM events_stitched "
            "WHERE person_id != '' AND $__timeFilter(event_time) GROUP BY person_id) GROUP BY n, step) ORDER BY n",
        ),
        Panel(
            title="Store funnel: visit → fitting room → purchase (persons)",
            kind="barchart",
            columns=("step", "persons"),
            description="Persons who, in this order and within 7 days, were seen by a store beacon, entered a "
            "fitting room and bought (online, or at a till whose card, e-receipt or app ties the sale to them). "
            "A till sale that carries no identifier, or whose buyer's phone no beacon saw, counts among the "
            "in-store purchases (Journeys: Online vs in-store) but cannot count here; the link rate "
            "(Cross-channel attribution) says how many can.",
            sql="SELECT step, persons FROM (SELECT arrayJoin([1, 2, 3]) AS n, "
            "['store visit', 'fitting room', 'purchase'][n] AS step, countIf(level >= n) AS persons FROM ("
            "SELECT person_id, windowFunnel(7 * 86400)(toDateTime(event_time), type = 'store_visit', "
            "type = 'fitting_room_entered', type IN ('pos_purchase', 'order_completed')) AS level "
            "FROM events_stitched WHERE person_id != '' AND $__timeFilter(event_time) "
            "AND $__conditionalAll(store_id IN ($store) OR store_id = '', $store) GROUP BY person_id) "
            "GROUP BY n, step) ORDER BY n",
        ),
    ),
)

WINDOW = Variable(
    name="window",
    label="Response window (minutes)",
    default="10",
    multi=False,
    include_all=False,
    options=("5", "10", "15", "30"),
)
# Responses per minute, then each airing joined to the minutes around it (an equi-join on the
# minute): cheap at any volume, where a spots × minutes cross join is not.
_RESPONSES = (
    "SELECT toStartOfMinute(event_time) AS minute, "
    "countIf(type = 'page_view' AND touch_channel != '') AS sessions, "
    "countIf(type IN ('second_screen_checkin', 'qr_scan', 'synced_interaction')) AS checkins, "
    "countIf(type = 'mention') AS mentions, sessions + checkins + mentions AS total FROM events_dedup "
    "WHERE event_time >= $__fromTime - INTERVAL $window MINUTE "
    "AND event_time <= $__toTime + INTERVAL $window MINUTE GROUP BY minute"
)
_SPOT_MINUTES = (
    "SELECT spot_id, tv_channel, tv_programme, event_time AS aired_at, cost, "
    "arrayJoin(range(-$window, $window)) AS off, toStartOfMinute(event_time) + toIntervalMinute(off) "
    "AS minute FROM events_dedup WHERE type = 'spot_aired' AND $__timeFilter(event_time)"
)
_PER_SPOT = (
    "SELECT s.spot_id AS spot_id, s.tv_channel AS tv_channel, s.tv_programme AS programme, "
    "s.aired_at AS aired_at, s.cost AS cost, sumIf(r.total, s.off >= 0) AS response, "
    "sumIf(r.total, s.off < 0) AS baseline, sumIf(r.checkins, s.off >= 0) AS checkins, "
    "sumIf(r.sessions, s.off >= 0) AS sessions, sumIf(r.sessions, s.off < 0) AS sessions_before "
    f"FROM ({_SPOT_MINUTES}) AS s LEFT JOIN ({_RESPONSES}) AS r ON r.minute = s.minute "
    "GROUP BY spot_id, tv_channel, programme, aired_at, cost"
)
# Second-screen responses that name their spot (QR code, check-in): caused by that airing, counted
# exactly, whatever else aired in the same minutes.
_TAGGED = (
    "SELECT spot_id, count() AS tagged FROM events_dedup "
    "WHERE type IN ('second_screen_checkin', 'qr_scan', 'synced_interaction') AND spot_id != '' "
    "AND event_time >= $__fromTime AND event_time <= $__toTime + INTERVAL $window MINUTE GROUP BY spot_id"
)

TV = Dashboard(
    uid="parcours-tv",
    title="Parcours · TV and second screen",
    description="Each airing's immediate response (web sessions, second-screen check-ins, mentions) in a window "
    "after it, against the same window before it.",
    variables=(WINDOW,),
    panels=(
        Panel(
            title="Spots: response vs baseline",
            kind="table",
            width=24,
            columns=(
                "spot_id",
                "tv_channel",
                "programme",
                "aired_at",
                "response",
                "baseline",
                "uplift",
                "cost_per_extra_response",
                "tagged_responses",
            ),
            description="Response: web sessions, check-ins and mentions in the window after the airing; baseline: "
            "the same window before it. Tagged responses: check-ins and QR scans that name the spot.",
            sql=f"SELECT p.spot_id AS spot_id, tv_channel, programme, aired_at, response, baseline, "
            "toInt64(response) - toInt64(baseline) AS uplift, "
            "if(response > baseline, round(cost / (response - baseline), 2), NULL) AS cost_per_extra_response, "
            f"t.tagged AS tagged_responses FROM ({_PER_SPOT}) AS p LEFT JOIN ({_TAGGED}) AS t "
            "ON t.spot_id = p.spot_id ORDER BY aired_at DESC",
        ),
        Panel(
            title="Responses per programme",
            kind="barchart",
            columns=("programme", "responses", "session_uplift"),
            description="Responses: check-ins and QR scans naming a spot of the programme (caused by it); session "
            "uplift: web sessions in the window after its airings minus the window before (an estimate).",
            sql=f"SELECT programme, sum(t.tagged) AS responses, "
            "sum(toInt64(sessions) - toInt64(sessions_before)) AS session_uplift "
            f"FROM ({_PER_SPOT}) AS p LEFT JOIN ({_TAGGED}) AS t ON t.spot_id = p.spot_id "
            "GROUP BY programme ORDER BY responses DESC",
        ),
        Panel(
            title="Responses and cost per TV channel",
            kind="barchart",
            columns=("tv_channel", "responses", "session_uplift", "cost", "cost_per_response"),
            sql=f"SELECT tv_channel, sum(t.tagged) AS responses, "
            "sum(toInt64(sessions) - toInt64(sessions_before)) AS session_uplift, round(sum(cost), 2) AS cost, "
            "if(responses > 0, round(cost / responses, 2), NULL) AS cost_per_response "
            f"FROM ({_PER_SPOT}) AS p LEFT JOIN ({_TAGGED}) AS t ON t.spot_id = p.spot_id "
            "GROUP BY tv_channel ORDER BY responses DESC",
        ),
        Panel(
            title="Second-screen responses per minute",
            kind="timeseries",
            width=24,
            columns=("time", "checkins", "sessions"),
            # per minute whatever the bucket Grafana picks for the range
            sql="SELECT $__timeInterval(event_time) AS time, "
            "round(countIf(type IN ('second_screen_checkin', 'qr_scan', 'synced_interaction')) * 60 / "
            "$__interval_s, 2) AS checkins, "
            "round(countIf(type = 'page_view' AND touch_channel != '') * 60 / $__interval_s, 2) AS sessions "
            "FROM events_dedup WHERE $__timeFilter(event_time) GROUP BY time ORDER BY time",
        ),
    ),
)

STORES = Dashboard(
    uid="parcours-stores",
    title="Parcours · Stores and fitting rooms",
    description="Fitting-room sessions, try-on to purchase, looks shared and their amplification, assistance.",
    variables=(STORE,),
    panels=(
        LINK_RATE,
        Panel(
            title="Fitting-room sessions per store",
            kind="timeseries",
            width=24,
            columns=("time", "store_id", "sessions"),
            sql="SELECT $__timeInterval(event_time) AS time, store_id, count() AS sessions FROM events_dedup "
            f"WHERE type = 'fitting_room_entered' AND $__timeFilter(event_time) AND {_STORE_FILTER} "
            "GROUP BY time, store_id ORDER BY time",
        ),
        Panel(
            title="Sessions by hour of day",
            kind="table",
            columns=("store_id", "hour", "sessions"),
            sql=f"SELECT store_id, toHour(event_time, '{BRAND_TZ}') AS hour, count() AS sessions FROM events_dedup "
            f"WHERE type = 'fitting_room_entered' AND $__timeFilter(event_time) AND {_STORE_FILTER} "
            "GROUP BY store_id, hour ORDER BY store_id, hour",
        ),
        Panel(
            title="Try-on to purchase per SKU",
            kind="table",
            columns=("sku", "sessions", "bought_after", "try_on_conversion"),
            description="Per fitting-room session: sessions where the SKU was tried, and those whose shopper "
            "bought it within a day (a till sale tied to the shopper: card, e-receipt, app; see the link rate).",
            sql="SELECT t.sku AS sku, uniqExact(t.session_id) AS sessions, "
            "uniqExactIf(t.session_id, b.bought_at >= t.started AND b.bought_at < t.started + INTERVAL 1 DAY) "
            "AS bought_after, round(bought_after / sessions, 3) AS try_on_conversion FROM ("
            "SELECT i.session_id AS session_id, i.sku AS sku, s.person_id AS person_id, s.started AS started FROM "
            "(SELECT DISTINCT session_id, sku FROM events_dedup WHERE type = 'item_tried' AND session_id != '' "
            f"AND $__timeFilter(event_time) AND {_STORE_FILTER}) AS i INNER JOIN ("
            # the session's shopper: as the entry's device knows them, or the card scanned at a mirror of
            # the same fitting room within ten minutes of the entry
            f"SELECT session_id, person_id, started FROM ({_SESSION_SHOPPERS}) WHERE person_id != ''"
            ") AS s ON s.session_id = i.session_id) AS t LEFT JOIN ("
            "SELECT person_id, arrayJoin(skus) AS sku, event_time AS bought_at FROM events_stitched "
            "WHERE type = 'pos_purchase' AND person_id != '' AND event_time >= $__fromTime "
            "AND event_time < $__toTime + INTERVAL 1 DAY) AS b "
            "ON b.person_id = t.person_id AND b.sku = t.sku "
            "GROUP BY sku ORDER BY sessions DESC, sku LIMIT 50",
        ),
        Panel(
            title="Looks shared from fitting rooms and their amplification",
            kind="table",
            columns=("store_id", "looks_shared", "likes", "comments", "shares", "amplification_per_look"),
            sql="SELECT l.store_id AS store_id, count() AS looks_shared, sum(a.likes) AS likes, "
            "sum(a.comments) AS comments, sum(a.shares) AS shares, "
            "round((sum(a.likes) + sum(a.comments) + sum(a.shares)) / count(), 2) AS amplification_per_look "
            "FROM (SELECT store_id, post_id FROM events_dedup WHERE type = 'look_shared' AND post_id != '' "
            f"AND $__timeFilter(event_time) AND {_STORE_FILTER}) AS l LEFT JOIN ("
            "SELECT post_id, countIf(type = 'like') AS likes, countIf(type = 'comment') AS comments, "
            "countIf(type = 'share') AS shares FROM events_dedup WHERE channel = 'social' AND post_id != '' "
            "GROUP BY post_id) AS a ON a.post_id = l.post_id GROUP BY store_id ORDER BY looks_shared DESC",
        ),
        Panel(
            title="Assistance: requests and time to answer",
            kind="table",
            columns=("store_id", "requests", "answered", "median_s", "p90_s"),
            sql="SELECT q.store_id AS store_id, count() AS requests, countIf(a.answered_at > 0) AS answered, "
            "round(quantileIf(0.5)(dateDiff('second', q.asked_at, a.answered_at), a.answered_at > 0)) AS median_s, "
            "round(quantileIf(0.9)(dateDiff('second', q.asked_at, a.answered_at), a.answered_at > 0)) AS p90_s "
            "FROM (SELECT store_id, JSONExtractString(properties, 'request_id') AS rid, event_time AS asked_at "
            "FROM events_dedup WHERE type = 'assistance_requested' AND $__timeFilter(event_time) "
            f"AND {_STORE_FILTER}) AS q LEFT JOIN (SELECT JSONExtractString(properties, 'request_id') AS rid, "
            "min(event_time) AS answered_at FROM events_dedup WHERE type = 'assistance_answered' GROUP BY rid"
            ") AS a ON a.rid = q.rid GROUP BY store_id ORDER BY requests DESC",
        ),
        Panel(
            title="Store visits with a prior online or social touchpoint (30 days)",
            kind="table",
            columns=("store_id", "visitors", "with_prior_online", "share"),
            sql="SELECT v.store_id AS store_id, count() AS visitors, countIf(p.first_touch > toDateTime64(0, 3) "
            "AND p.first_touch < v.first_visit) AS with_prior_online, round(with_prior_online / visitors, 3) "
            "AS share FROM (SELECT person_id, store_id, min(event_time) AS first_visit FROM events_stitched "
            "WHERE type = 'store_visit' AND person_id != '' AND $__timeFilter(event_time) "
            f"AND {_STORE_FILTER} GROUP BY person_id, store_id) AS v LEFT JOIN (SELECT person_id, "
            "min(event_time) AS first_touch FROM events_stitched WHERE person_id != '' "
            "AND (touch_channel LIKE 'web/%' OR touch_channel LIKE 'social/%' OR touch_channel = 'direct') "
            "AND event_time >= $__fromTime - INTERVAL 30 DAY GROUP BY person_id) AS p "
            "ON p.person_id = v.person_id AND p.first_touch >= v.first_visit - INTERVAL 30 DAY "
            "GROUP BY store_id ORDER BY visitors DESC",
        ),
    ),
)

RATE = Variable(
    name="rate_flag",
    label="Flag accounts above (interactions/hour)",
    default="30",
    multi=False,
    include_all=False,
    options=("10", "30", "60", "120"),
)
_ENGAGED = (
    "SELECT *, (flag_reason != '' OR (social_handle != '' AND (social_network, lower(social_handle)) IN ("
    "SELECT social_network, lower(social_handle) FROM events_dedup WHERE channel = 'social' "
    "AND social_handle != '' AND $__timeFilter(event_time) GROUP BY social_network, lower(social_handle), "
    "toStartOfHour(event_time) HAVING count() > $rate_flag))) AS flagged FROM social_engagement "
    "WHERE $__timeFilter(event_time)"
)
_QA = (
    "SELECT q.reply_to_id AS question_id, q.event_time AS asked_at, if(r.found = 1, r.replied_at, NULL) AS replied_at "
    "FROM "
    "(SELECT reply_to_id, event_time FROM events_dedup WHERE type = 'question' AND $__timeFilter(event_time)) AS q "
    "LEFT JOIN (SELECT reply_to_id, 1 AS found, min(event_time) AS replied_at FROM events_dedup "
    "WHERE type = 'brand_reply' GROUP BY reply_to_id) AS r ON r.reply_to_id = q.reply_to_id"
)
_ACTUALS = (
    "SELECT 'visibility' AS objective, toFloat64(uniqExactIf((social_network, social_handle), social_handle != '')) "
    f"AS actual FROM ({_ENGAGED}) WHERE NOT flagged "
    "UNION ALL SELECT 'amplification', toFloat64(countIf(type IN ('share', 'mention', 'look_shared'))) "
    f"FROM ({_ENGAGED}) WHERE NOT flagged "
    "UNION ALL SELECT 'interaction', toFloat64(countIf(type IN ('like', 'comment', 'question', 'follow'))) "
    f"FROM ({_ENGAGED}) WHERE NOT flagged "
    "UNION ALL SELECT 'traffic', toFloat64(count()) FROM events_dedup WHERE type = 'page_view' "
    "AND touch_channel LIKE 'social/%' AND $__timeFilter(event_time) "
    "UNION ALL SELECT 'satisfaction', avgOrDefault(toFloat64(JSONExtractInt(properties, 'satisfaction'))) "
    "FROM events_dedup WHERE type = 'brand_reply' AND JSONExtractInt(properties, 'satisfaction') > 0 "
    "AND $__timeFilter(event_time)"
)

COMMUNITY = Dashboard(
    uid="parcours-community",
    title="Parcours · Community and return on objectives",
    description="Response times to customers' questions and the brand's objectives, actual vs target — "
    "not fan counts. Engagement from flagged accounts is shown apart and excluded from headlines.",
    variables=(RATE,),
    panels=(
        Panel(
            title="Time to first reply",
            kind="stat",
            unit="m",
            width=8,
            columns=("median_minutes", "p90_minutes"),
            sql="SELECT round(quantile(0.5)(dateDiff('second', asked_at, replied_at)) / 60, 1) AS median_minutes, "
            "round(quantile(0.9)(dateDiff('second', asked_at, replied_at)) / 60, 1) AS p90_minutes "
            f"FROM ({_QA}) WHERE replied_at IS NOT NULL",
        ),
        Panel(
            title="Questions asked before noon answered by 5 pm the same day",
            kind="stat",
            unit="percentunit",
            width=8,
            columns=("same_day_share", "questions"),
            field_units=(("questions", "short"),),  # a count: 11 questions, not 1100%
            description="Business days, Europe/Paris.",
            sql=f"SELECT round(avg(replied_at IS NOT NULL AND toDate(replied_at, '{BRAND_TZ}') = "
            f"toDate(asked_at, '{BRAND_TZ}') AND toHour(replied_at, '{BRAND_TZ}') < 17), 3) AS same_day_share, "
            f"count() AS questions FROM ({_QA}) WHERE toHour(asked_at, '{BRAND_TZ}') < 12 "
            f"AND toDayOfWeek(asked_at, 0, '{BRAND_TZ}') <= 5",
        ),
        Panel(
            title="Unanswered questions",
            kind="stat",
            width=8,
            columns=("unanswered",),
            sql=f"SELECT countIf(replied_at IS NULL) AS unanswered FROM ({_QA})",
        ),
        Panel(
            title="Return on objectives: actual vs target",
            kind="table",
            width=24,
            columns=("objective", "actual", "target", "attainment"),
            description="Targets are set per period (period_days); a count's target is scaled to the range "
            "shown, an average's (satisfaction) is not.",
            # a count's target for the range shown: target x range / period
            sql=f"SELECT a.objective AS objective, round(a.actual, 2) AS actual, round(if(o.found = 1, o.target, NULL) "
            "* if(a.objective = "
            "'satisfaction', 1, dateDiff('second', $__fromTime, $__toTime) / (86400 * o.period_days)), 2) AS target, "
            "if(target > 0, round(a.actual / target, 3), NULL) AS attainment "
            f"FROM ({_ACTUALS}) AS a LEFT JOIN (SELECT objective, 1 AS found, target, period_days FROM objectives "
            "FINAL) AS o ON o.objective = a.objective ORDER BY objective",
        ),
        Panel(
            title="Amplification per brand post",
            kind="table",
            width=24,
            columns=("post_id", "network", "paid", "likes", "comments", "shares"),
            sql="SELECT p.post_id AS post_id, p.network AS network, p.paid AS paid, "
            "countIf(e.type = 'like') AS likes, countIf(e.type = 'comment') AS comments, "
            "countIf(e.type = 'share') AS shares FROM (SELECT post_id, network, "
            "JSONExtractBool(properties, 'paid') AS paid FROM events_dedup WHERE type = 'post_published' "
            f"AND $__timeFilter(event_time)) AS p LEFT JOIN (SELECT post_id, type FROM ({_ENGAGED}) "
            "WHERE NOT flagged) AS e ON e.post_id = p.post_id "
            "GROUP BY post_id, network, paid ORDER BY shares DESC, likes DESC",
        ),
        Panel(
            title="Interactions per day (flagged accounts excluded)",
            kind="timeseries",
            columns=("time", "type", "interactions"),
            sql=f"SELECT toStartOfDay(event_time, '{BRAND_TZ}') AS time, type, count() AS interactions "
            f"FROM ({_ENGAGED}) WHERE NOT flagged AND type IN ('like', 'comment', 'share', 'question', "
            "'mention', 'follow') GROUP BY time, type ORDER BY time",
        ),
        Panel(
            title="Engagement from flagged accounts (shown apart)",
            kind="table",
            columns=("reason", "accounts", "interactions"),
            sql="SELECT if(flag_reason != '', flag_reason, 'rate') AS reason, "
            "uniqExact(social_network, social_handle) AS accounts, count() AS interactions "
            f"FROM ({_ENGAGED}) WHERE flagged GROUP BY reason ORDER BY interactions DESC",
        ),
        Panel(
            title="Traffic sent to the site from social (per day)",
            kind="timeseries",
            columns=("time", "sessions"),
            sql=f"SELECT toStartOfDay(event_time, '{BRAND_TZ}') AS time, count() AS sessions FROM events_dedup "
            "WHERE type = 'page_view' AND touch_channel LIKE 'social/%' AND $__timeFilter(event_time) "
            "GROUP BY time ORDER BY time",
        ),
    ),
)

HEALTH = Dashboard(
    uid="parcours-health",
    title="Parcours · Pipeline health",
    description="Arrivals, dead letters, ingestion lag, freshness, identity decisions. Times here are "
    "when records arrived and were stored, not when the events happened: replayed history (a backfill, "
    "the demo's simulated week) shows up when it was published.",
    default_range="now-6h",
    panels=(
        Panel(
            title="Events stored per channel per minute",
            kind="timeseries",
            width=24,
            columns=("time", "channel", "events"),
            sql="SELECT toStartOfMinute(ingested_at) AS time, channel, count() AS events FROM events "
            "WHERE $__timeFilter(ingested_at) GROUP BY time, channel ORDER BY time",
        ),
        Panel(
            title="Dead letters by reason",
            kind="timeseries",
            columns=("time", "reason", "dead_letters"),
            sql="SELECT $__timeInterval(stored_at) AS time, reason, count() AS dead_letters FROM dead_letters "
            "FINAL WHERE $__timeFilter(stored_at) GROUP BY time, reason ORDER BY time",
        ),
        Panel(
            title="Ingestion lag (arrival → stored), seconds",
            kind="timeseries",
            unit="s",
            columns=("time", "p50", "p99", "replayed"),
            description="Arrival: the Kafka record's time (the collector's receive time, or the producer's "
            "send time). Records stamped more than a day before they were stored are history being replayed "
            "(a backfill, `parcours publish` of old events): counted apart, not as lag.",
            field_units=(("replayed", "short"),),
            sql="SELECT $__timeInterval(ingested_at) AS time, "
            "round(quantileIf(0.5)(dateDiff('millisecond', received_at, ingested_at) / 1000, live), 3) AS p50, "
            "round(quantileIf(0.99)(dateDiff('millisecond', received_at, ingested_at) / 1000, live), 3) AS p99, "
            "countIf(NOT live) AS replayed FROM (SELECT ingested_at, received_at, "
            "received_at >= ingested_at - INTERVAL 1 DAY AS live FROM events WHERE $__timeFilter(ingested_at)) "
            "GROUP BY time ORDER BY time",
        ),
        Panel(
            title="Freshness (now − newest event time), seconds",
            kind="stat",
            unit="s",
            width=6,
            description="How long ago the newest stored event happened: seconds on live traffic; on replayed "
            "history (the demo's simulated week), the age of that history.",
            columns=("freshness_s",),
            sql="SELECT if(count() = 0, NULL, dateDiff('second', max(event_time), now64(3))) AS freshness_s "
            "FROM events",
        ),
        Panel(
            title="Late events (stored, flagged)",
            kind="stat",
            width=6,
            columns=("late_events",),
            sql="SELECT count() AS late_events FROM events_dedup WHERE late = 1 AND $__timeFilter(ingested_at)",
        ),
        Panel(
            title="Identity merges and refusals",
            kind="timeseries",
            width=24,
            columns=("time", "decision", "decisions"),
            sql="SELECT $__timeInterval(decided_at) AS time, decision, count() AS decisions FROM identity_links "
            "FINAL WHERE decision != 'already_linked' AND $__timeFilter(decided_at) "
            "GROUP BY time, decision ORDER BY time",
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (ATTRIBUTION, JOURNEYS, TV, STORES, COMMUNITY, HEALTH)
