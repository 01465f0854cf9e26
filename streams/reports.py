"""Read-side reports shared by the CLI, the worker's HTTP endpoints and the demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streams.attribution.batch import CH_DATETIME, channel_credits
from streams.attribution.rules import NO_TOUCH
from streams.grafana.macros import ALL, QueryContext, expand
from streams.grafana.spec import LINK_RATE
from streams.store.backend import Backend

SUMMARY_QUERIES = {
    "events_by_channel": "SELECT channel, count() AS events FROM events_dedup GROUP BY channel ORDER BY channel",
    "dead_letters_by_reason": "SELECT reason, count() AS dead_letters FROM dead_letters FINAL "
    "GROUP BY reason ORDER BY reason",
    # a person is "known" once any of its events carries a CRM id, card, e-mail, phone or social
    # account; the rest are visitors seen only through cookies and devices no login has joined
    "persons": "SELECT count() AS persons, countIf(known) AS known FROM (SELECT person_id, "
    "max(arrayExists(i -> NOT (startsWith(i, 'anon:') OR startsWith(i, 'device:')), identifiers)) AS known "
    "FROM events_stitched WHERE person_id != '' GROUP BY person_id)",
    "conversions": "SELECT type, count() AS conversions, round(sum(revenue), 2) AS revenue FROM events_dedup "
    "WHERE is_conversion = 1 GROUP BY type ORDER BY type",
    "identity": "SELECT decision, count() AS decisions FROM identity_links FINAL GROUP BY decision ORDER BY decision",
    "late_events": "SELECT count() AS n FROM events_dedup WHERE late = 1",
}


def summary(backend: Backend) -> dict[str, Any]:
    out = {name: backend.query(sql) for name, sql in SUMMARY_QUERIES.items()}
    out["in_store_linking"] = backend.query(_whole_range(LINK_RATE.sql))
    return out


def _whole_range(sql: str) -> str:
    """A panel's SQL over everything stored (the summary has no time range)."""
    ctx = QueryContext(
        start=datetime(2000, 1, 1, tzinfo=UTC),
        end=datetime.now(UTC) + timedelta(days=1),
        variables={"store": ALL},
        options={"store": []},
    )
    return expand(sql, ctx)


def format_summary(s: dict[str, Any]) -> str:
    lines = ["Events per channel:"]
    lines += [f"  {r['channel']:<8} {int(r['events']):>9,}" for r in s["events_by_channel"]]
    total = sum(int(r["events"]) for r in s["events_by_channel"])
    lines.append(f"  {'total':<8} {total:>9,}")
    lines.append("Dead letters by reason:")
    lines += [f"  {r['reason']:<22} {int(r['dead_letters']):>6,}" for r in s["dead_letters_by_reason"]] or ["  none"]
    persons = int(s["persons"][0]["persons"]) if s["persons"] else 0
    known = int(s["persons"][0].get("known", 0)) if s["persons"] else 0
    lines.append(
        f"Persons (stitched): {persons:,} — {known:,} known by a CRM id, card, e-mail, phone or social account; "
        f"{persons - known:,} anonymous visitors, seen only through cookies or devices no login has tied to a customer"
    )
    lines.append("Conversions:")
    labels = {"order_completed": "online orders", "pos_purchase": "in-store purchases", "signup": "signups"}
    lines += [
        f"  {labels.get(r['type'], r['type']):<20} {int(r['conversions']):>6,}  revenue {float(r['revenue']):>12,.2f}"
        for r in s["conversions"]
    ] or ["  none"]
    lines.append("Identity decisions:")
    lines += [f"  {r['decision']:<24} {int(r['decisions']):>7,}" for r in s["identity"]] or ["  none"]
    late = s["late_events"][0]["n"] if s["late_events"] else 0
    lines.append(f"Late events (stored, flagged): {int(late):,}")
    link = s.get("in_store_linking") or []
    if link and int(link[0]["purchases"]):
        r = link[0]
        lines.append(
            f"In-store sales linked to an online, social or TV history: {int(r['linked_purchases']):,} of "
            f"{int(r['purchases']):,} ({float(r['link_rate']):.1%} of in-store revenue), by any of the buyer's "
            "history; attribution counts only touches before a sale, within its lookback"
        )
    return "\n".join(lines)


_RANGE = "conversion_time >= {lo:DateTime64(3, 'UTC')} AND conversion_time < {hi:DateTime64(3, 'UTC')}"
_ANSWER_QUERIES = {
    "data_driven": "SELECT channel, conversions, revenue FROM attribution_channel_totals FINAL "
    "WHERE model = {data_driven:String} AND period_start = {lo:DateTime64(3, 'UTC')} "
    "AND period_end = {hi:DateTime64(3, 'UTC')}",
    "paths": "SELECT arrayStringConcat(path, ' > ') AS path, count() AS conversions, sum(revenue) AS revenue "
    f"FROM journeys FINAL WHERE source = 'batch' AND conversion_type != '' AND length(path) > 0 AND {_RANGE} "
    "GROUP BY path ORDER BY conversions DESC, path LIMIT 5",
    "where": "SELECT conversion_type AS type, count() AS conversions, sum(revenue) AS revenue, "
    "countIf(length(path) > 0) AS with_touch FROM journeys FINAL "
    f"WHERE source = 'batch' AND conversion_type != '' AND {_RANGE} GROUP BY type ORDER BY type",
}
DATA_DRIVEN_MODELS = ("markov", "shapley")


def attribution_answer(
    backend: Backend, start: datetime, end: datetime, *, model: str = "last_touch", data_driven: str = "markov"
) -> dict[str, Any]:
    """The growth team's answer over ``[start, end)`` from the latest batch run over exactly that
    range (``parcours attribution run``): conversions and revenue per channel for a rule-based
    model and a data-driven one side by side, the top converting paths, online against in-store."""
    params = {
        "data_driven": data_driven,
        "lo": start.astimezone(UTC).strftime(CH_DATETIME)[:-3],
        "hi": end.astimezone(UTC).strftime(CH_DATETIME)[:-3],
    }
    got = {name: backend.query(sql, params) for name, sql in _ANSWER_QUERIES.items()}
    got["rule"] = channel_credits(backend, model, start, end)
    channels: dict[str, dict[str, float]] = {}
    for key in ("rule", "data_driven"):
        for r in got[key]:
            row = channels.setdefault(str(r["channel"]), {})
            row[f"{key}_conversions"] = float(r["conversions"])
            row[f"{key}_revenue"] = float(r["revenue"])
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "model": model,
        "data_driven": data_driven,
        # data-driven totals are kept per run range: none unless a run covered exactly this one
        "data_driven_found": bool(got["data_driven"]),
        "channels": [{"channel": ch, **v} for ch, v in sorted(channels.items(), key=lambda kv: _order(kv))],
        "paths": [
            {"path": r["path"], "conversions": int(r["conversions"]), "revenue": float(r["revenue"])}
            for r in got["paths"]
        ],
        "where": [
            {
                "type": r["type"],
                "conversions": int(r["conversions"]),
                "revenue": float(r["revenue"]),
                "with_touch": int(r["with_touch"]),
            }
            for r in got["where"]
        ],
    }


def _order(item: tuple[str, dict[str, float]]) -> tuple[int, float]:
    # channels by the rule model's conversions, the conversions no touch explains last
    channel, v = item
    return (channel == NO_TOUCH, -v.get("rule_conversions", 0.0))


_WHERE = {"order_completed": "online orders", "pos_purchase": "in-store purchases", "signup": "signups"}


def _count(n: float, noun: str) -> str:
    """``1 conversion``, ``1,927 conversions``."""
    return f"{n:,.0f} {noun}" + ("" if round(n) == 1 else "s")


def format_attribution(a: dict[str, Any]) -> str:
    """The answer as the demo and ``parcours attribution show`` print it."""
    rule, dd = a["model"].replace("_", " "), a["data_driven"]
    rows = a["channels"]
    total = sum(r.get("rule_conversions", 0.0) for r in rows)
    revenue = sum(r.get("rule_revenue", 0.0) for r in rows)
    unexplained = sum(r.get("rule_conversions", 0.0) for r in rows if r["channel"] == NO_TOUCH)
    start, end = datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"])
    lines = [
        f"Attribution {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} (UTC{start:%z}): {_count(total, 'conversion')}, "
        f"revenue {revenue:,.2f}",
        f"  {'channel':<28} {rule + ' conv':>16} {'revenue':>12} {dd + ' conv':>14} {'revenue':>12}",
    ]
    for r in rows:
        if not r.get("rule_conversions") and not r.get("data_driven_conversions"):
            continue  # a channel credited nothing in this range (a withdrawn credit): not a row of the answer
        explained = r["channel"] != NO_TOUCH and a["data_driven_found"]
        d_conv = f"{r.get('data_driven_conversions', 0.0):,.1f}" if explained else "-"
        d_rev = f"{r.get('data_driven_revenue', 0.0):,.2f}" if explained else "-"
        lines.append(
            f"  {r['channel']:<28} {r.get('rule_conversions', 0.0):>16,.1f} {r.get('rule_revenue', 0.0):>12,.2f}"
            f" {d_conv:>14} {d_rev:>12}"
        )
    if not a["data_driven_found"]:
        lines.append(f"  {dd}: no batch run over exactly this range (`parcours attribution run` with these dates)")
    if total:
        others = (
            f"{dd} credits the {total - unexplained:,.0f} others"
            if a["data_driven_found"]
            else (f"the {total - unexplained:,.0f} others have a touch to credit")
        )
        lines.append(
            f"  {_count(unexplained, 'conversion')} ({unexplained / total:.0%}) had no touch linked to their buyer: "
            f"shown apart, never shared out; {others}."
        )
    lines.append("Top converting paths:")
    lines += [f"  {p['conversions']:>5,}  {p['revenue']:>11,.2f}  {p['path']}" for p in a["paths"]] or ["  none"]
    lines.append("Online against in-store:")
    lines += [
        f"  {_WHERE.get(w['type'], w['type']):<20} {w['conversions']:>6,}  revenue {w['revenue']:>12,.2f}  "
        f"{w['with_touch']:,} with a linked touch"
        for w in a["where"]
    ] or ["  none"]
    return "\n".join(lines)
