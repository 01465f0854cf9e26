"""Read-side reports shared by the CLI, the worker's HTTP endpoints and the demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streams.grafana.macros import ALL, QueryContext, expand
from streams.grafana.spec import LINK_RATE
from streams.store.backend import Backend

SUMMARY_QUERIES = {
    "events_by_channel": "SELECT channel, count() AS events FROM events_dedup GROUP BY channel ORDER BY channel",
    "dead_letters_by_reason": "SELECT reason, count() AS dead_letters FROM dead_letters FINAL "
    "GROUP BY reason ORDER BY reason",
    "persons": "SELECT uniqExact(person_id) AS persons FROM events_stitched WHERE person_id != ''",
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
    persons = s["persons"][0]["persons"] if s["persons"] else 0
    lines.append(f"Persons (stitched): {int(persons):,}")
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
            f"{int(r['purchases']):,} ({float(r['link_rate']):.1%} of in-store revenue); the rest is the "
            "'no linked touchpoint' row of attribution"
        )
    return "\n".join(lines)
