"""``python -m bench.report``: the figures in bench/results/*.json as a Markdown table against
their goals (docs/performance.md holds the latest, the README its headline rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS


def _load(name: str) -> dict[str, Any] | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def report() -> str:
    rows = []
    p, a, d, s = _load("pipeline"), _load("attribution"), _load("dashboards"), _load("soak")
    so = _load("scaleout")
    if p:
        bare = p["bare_consumer_events_per_s"]["median"]
        pipe = p["pipeline"]
        rate = pipe.get("events_per_s_median", pipe["events_per_s"])
        runs = ", ".join(f"{r:,.0f}" for r in pipe.get("events_per_s_runs", []))
        ins, sp = p["bare_chdb_insert_rows_per_s"], p["stage_profile"]
        rows += [
            ("bare aiokafka consumer, no work (ceiling)", f"{bare:,.0f} events/s", "—"),
            (
                "Faust agent doing nothing, same topics (why ingest bypasses it)",
                f"{p.get('faust_noop_agent_events_per_s', float('nan')):,.0f} events/s",
                "—",
            ),
            (
                "bare chDB insert of event rows (ceiling): Arrow / JSONEachRow",
                f"{ins['arrow']:,.0f} / {ins['json_each_row']:,.0f} rows/s",
                "—",
            ),
            (
                "one worker draining 1,000,000 events" + (" (median of three drains)" if runs else ""),
                f"{rate:,.0f} events/s ({rate / bare:.1%} of bare)" + (f"; runs {runs}" if runs else ""),
                "≥ 50,000/s and ≥ 50% of bare",
            ),
        ]
        if "events_per_s_after_first_commit" in p["pipeline"]:
            steady = pipe.get("events_per_s_after_first_commit_median", pipe["events_per_s_after_first_commit"])
            first_commit = pipe["seconds_to_first_commit"]
            rows.append(
                (
                    f"the same, after its start-up (the first run committed its first batch at {first_commit:.1f} s)",
                    f"{steady:,.0f} events/s ({steady / bare:.1%} of bare)",
                    "—",
                )
            )
        rows += [
            (
                "stage: normalize (validate, event time, dedupe, records)",
                f"{sp['normalize_events_per_s']:,.0f} events/s"
                + (f", {sp['native_decoder_share']:.1%} read natively" if "native_decoder_share" in sp else ""),
                "—",
            ),
            (
                "stage: records → Arrow (the reference path's; native rows come as Arrow)",
                f"{sp['to_arrow_rows_per_s']:,.0f} rows/s",
                "—",
            ),
            ("stage: chDB Arrow insert", f"{sp['chdb_arrow_insert_rows_per_s']:,.0f} rows/s", "—"),
            ("stage: identity graph, one core", f"{sp['identity_graph_links_per_s_one_core']:,.0f} links/s", "—"),
            (
                "stage: identity graph, Python reference, one core",
                f"{sp.get('identity_graph_reference_links_per_s_one_core', float('nan')):,.0f} links/s",
                "—",
            ),
            ("stage: identity stage incl. map writes", f"{sp['identity_stage_links_per_s']:,.0f} links/s", "—"),
        ]
        live = sp.get("live_credits")
        if live:
            rows.append(
                (
                    "stage: identity stage again, map reloaded, with live credits",
                    f"{live['links_per_s']:,.0f} links/s, {live['conversions_per_s']:,.0f} conversions credited/s",
                    "—",
                )
            )
        spent = p["pipeline"].get("worker_seconds") or {}
        if spent:
            parts = ", ".join(f"{k.removeprefix('ingest.')} {v:,.0f} s" for k, v in sorted(spent.items()))
            rows.append(("worker's own time accounting during the drain", parts, "—"))
        cpu = p["pipeline"].get("cpu_per_event")
        if cpu:
            rows.append(
                (
                    "CPU an event during the drain: worker's Python threads / its chDB threads / broker",
                    f"{cpu['worker_python_us']:.1f} / {cpu['worker_native_us']:.1f} / {cpu['broker_us']:.1f} µs "
                    f"= {cpu['all_us']:.1f} µs; bounds: one interpreter "
                    f"{cpu['interpreter_bound_events_per_s']:,.0f} events/s, "
                    f"this machine's cores {cpu['machine_bound_events_per_s']:,.0f} events/s",
                    f"50,000/s: ≤ 20 µs of Python, ≤ {20 * p['machine']['cores']} µs in all",
                )
            )
        rss = p["worker_rss_mb"]
        rows += [(f"worker RSS after {int(k):,} events", f"{v:,.0f} MB", "bounded") for k, v in rss.items()]
        if "rss_growth_mb_per_million" in p:
            rows.append(
                (
                    "RSS growth from 1M to 5M events",
                    f"{p['rss_growth_mb_per_million']:,.0f} MB per million events",
                    "flat",
                )
            )
        labels = (
            ("freshness", "half the drain rate, links backlog consumed first"),
            ("freshness_after_5m", "same, after 5M events, the identity stage still consuming its backlog"),
        )
        for key, label in labels:
            f = p.get(key) or {}
            if f.get("p99_s") is not None:
                rows.append(
                    (
                        f"freshness at {f['rate_per_s']:,.0f} events/s ({label})",
                        f"p50 {f['p50_s']:.2f} s, p99 {f['p99_s']:.2f} s ({f['probes_seen']} probes)"
                        + (
                            f"; published {f['published_per_s']:,.0f}/s, "
                            f"load generator {f['load_generator_cores']:.2f} core"
                            if "published_per_s" in f
                            else ""
                        ),
                        "p99 < 2 s",
                    )
                )
        ib = p.get("identity_backlog_after_5m")
        if ib:
            rows.append(
                (
                    "identity stage behind as the 5M drain ended (links messages, up to 500 links each)",
                    f"{ib['links_messages_behind_at_drain_end']:,}; "
                    f"{ib['links_messages_behind_after_freshness']:,} after the freshness run after it, "
                    f"during which it consumed {ib['links_messages_per_s_meanwhile']:,.1f} messages/s",
                    "—",
                )
            )
            if "process_ms_per_credit" in ib:
                rows.append(
                    (
                        "identity stage during that run: a live-credited conversion costs",
                        f"{ib['process_ms_per_credit']:.2f} ms of the stage, "
                        f"{ib['history_events_read_per_credit']:.1f} stored events read "
                        f"({ib['credited']:,.0f} conversions, {ib['links']:,.0f} links)",
                        "—",
                    )
                )
    if a:
        rb = a["rule_based"]
        rows.append(
            (
                f"rule-based, all {len(rb['seconds_per_model_median'])} models, 1M conversions",
                f"{rb['seconds_all_models']:.2f} s ({rb['touches']:,} touches)",
                "seconds",
            )
        )
        m = a["markov"]
        rows.append(("exact Markov (order 1), 1M distinct paths", f"{m['seconds_median']:.2f} s", "seconds"))
        ca = a.get("channelattribution") or {}
        if "seconds_median" in ca:
            rows.append(
                (
                    "channelattribution markov_model, same table (flg_pro=False)",
                    f"{ca['seconds_median']:.2f} s — ours {ca['speedup_ours_vs_theirs']:.1f}× faster",
                    "—",
                )
            )
    if d:
        for uid, v in d["dashboards"].items():
            rows.append((f"{uid}: heaviest panel on 10M events", f"{v['ms']:,.0f} ms ({v['heaviest_panel']})", "—"))
    if so:
        one, two = so["one_worker"], so["two_workers"]
        rows.append(
            (
                f"scale-out, {so['published']:,} records via a store server: 1 worker → 2 in one group",
                f"{one['events_per_s']:,.0f} → {two['events_per_s']:,.0f} events/s "
                f"({so['speedup_two_vs_one']:.2f}×), split {two['stored_per_worker']}; "
                f"same events, identity map, dead letters: {'yes' if so['same_results'] else 'NO'}",
                "same results",
            )
        )
        if "split_stages" in so:
            sp = so["split_stages"]
            rows.append(
                (
                    "scale-out, same records: 2 workers splitting the stages (ingest + dead letters | identity)",
                    f"{sp['events_per_s']:,.0f} events/s ({so['speedup_split_vs_one']:.2f}× one worker); "
                    f"everything consumed after {sp['seconds_until_all_consumed']:.1f} s against "
                    f"{one['seconds_until_all_consumed']:.1f} s for one worker",
                    "same results",
                )
            )
    if s:
        rows.append(
            (
                f"soak: {s['minutes']:.0f} min at {s['rate_per_s']:,.0f} events/s",
                f"lag {s['lag_first_fifth_median']:,.0f} → {s['lag_last_fifth_median']:,.0f}; RSS "
                f"{s['rss_first_fifth_mb']:,.0f} → {s['rss_last_fifth_mb']:,.0f} MB (first → last fifth)",
                "flat",
            )
        )
    out = ["| measure | result | goal |", "|---|---|---|"]
    out += [f"| {a_} | {b} | {c} |" for a_, b, c in rows]
    return "\n".join(out)


if __name__ == "__main__":
    print(report())
    print(f"\n(from {Path(RESULTS).relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS})")
