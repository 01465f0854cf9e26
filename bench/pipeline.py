"""Ceilings (bare consumer, bare chDB insert), one worker draining a backlog, stage profile,
worker memory, freshness at a steady rate. All against the real broker started here."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError

from bench.common import Timer, chunks, corpus, fresh_copy, live_frame, median_of
from bench.cpu import CpuMeter, broker_pid
from bench.kafka_fill import drain_rate, fill, steady
from streams.attribution.live import LiveCredits
from streams.devstack import KafkaBroker, Worker, consumer_committed, consumer_lag, worker_env
from streams.identity.links import Links
from streams.identity.stage import IdentityStage
from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.normalize import Normalizer, RawItem
from streams.kafka import ensure_topics
from streams.read import WorkerReader
from streams.runtime import tune_gc
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate
from streams.topics import TopicNames


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stage_profile(payloads: list[bytes], root: Path) -> dict[str, Any]:
    """In-process, per stage, on the same events: where a worker's time goes."""
    tune_gc()  # as the worker does
    settings = Settings()
    now = datetime.now(UTC)
    items = [RawItem(p, f"b/0/{i}", now) for i, p in enumerate(payloads)]
    norm = Normalizer(settings)
    with Timer() as t_norm:
        outs = [norm.normalize(c) for c in chunks(items, 10_000)]
    records = sum(len(o) for o in outs)
    links = Links()
    for o in outs:
        links.extend(o.links)
    native_rows = sum(t.num_rows for o in outs for t in o.native)
    with Timer() as t_arrow:  # what normalize left as Python lists; the native decoder's rows are Arrow
        tables = [events_table_or_quarantine(o, norm) for o in outs]
    store = ChdbBackend(root / "profile-ch")
    migrate(store)
    with Timer() as t_insert:
        for t in tables:
            store.insert_arrow("events", t)
    stage = IdentityStage(settings, store)
    with Timer() as t_identity:
        for start in range(0, len(links), 2000):
            stage.process([links.take(range(start, min(start + 2000, len(links))))])
    # Again, as a restarted worker would (the map reloaded), with live credits, in the worker's
    # batches: links that decide nothing now, so this is what the credits cost on top.
    again = IdentityStage(settings, store)
    again.load()
    live = LiveCredits(settings, store)
    live.load()
    credited = 0
    batch = settings.batch_size
    with Timer() as t_live:
        for start in range(0, len(links), batch):
            change = again.process([links.take(range(start, min(start + batch, len(links))))])
            credited += live.credit(change)["credited"]
    from streams.identity.graph import IdentityGraph, new_graph

    calls = [(links.groups[g].identifiers, links.groups[g].verified_crm) for g in links.group]
    graph = new_graph()  # what the stage runs: the native graph when built
    with Timer() as t_graph:
        for ids, crm in calls:
            graph.link(ids, crm)
    reference = IdentityGraph()
    with Timer() as t_reference:
        for ids, crm in calls:
            reference.link(ids, crm)
    store.close()
    n = len(payloads)
    return {
        "events": n,
        "links": len(links),
        "normalize_events_per_s": n / t_norm.seconds,
        "native_decoder_share": native_rows / max(records, 1),
        "to_arrow_rows_per_s": records / t_arrow.seconds,
        "chdb_arrow_insert_rows_per_s": records / t_insert.seconds,
        "identity_stage_links_per_s": len(links) / t_identity.seconds,
        "identity_graph_links_per_s_one_core": len(links) / t_graph.seconds,
        "live_credits": {
            "conversions": credited,
            "links_per_s": len(links) / t_live.seconds,
            "conversions_per_s": credited / t_live.seconds,
        },
        "identity_graph_reference_links_per_s_one_core": len(links) / t_reference.seconds,
        "seconds": {
            "normalize": t_norm.seconds,
            "to_arrow": t_arrow.seconds,
            "insert": t_insert.seconds,
            "identity": t_identity.seconds,
            "identity_again_with_live_credits": t_live.seconds,
        },
    }


def bare_chdb_insert(payloads: list[bytes], root: Path) -> dict[str, float]:
    """Pre-built rows, 20k a batch, in both formats: JSONEachRow text and a ready Arrow table.
    The Arrow figure (what the worker sends) is the store's ceiling for our event rows."""
    norm = Normalizer(Settings())
    outs = [
        norm.normalize(c)
        for c in chunks([RawItem(p, f"b/0/{i}", datetime.now(UTC)) for i, p in enumerate(payloads)], 20_000)
    ]
    rows = [row for o in outs for row in o.rows]
    tables = [events_table_or_quarantine(o, norm) for o in outs]
    store = ChdbBackend(root / "bare-ch")
    migrate(store)

    def once(insert: Any, batches: list[Any]) -> float:
        store.execute("TRUNCATE TABLE events")
        with Timer() as t:
            for b in batches:
                insert("events", b)
        return len(rows) / t.seconds

    json_rate, _ = median_of(lambda: once(store.insert, list(chunks(rows, 20_000))), 3)
    arrow_rate, _ = median_of(lambda: once(store.insert_arrow, tables), 3)
    store.close()
    return {"json_each_row": json_rate, "arrow": arrow_rate}


def faust_noop_rate(bootstrap: str, topics: list[str], expected: int, root: Path) -> float:
    """Events/s through a Faust agent that only counts (``bench.faust_noop``), same topics."""
    import os
    import subprocess
    import sys

    result = root / "faust-noop.txt"
    env = {
        **os.environ,
        "NOOP_BOOTSTRAP": bootstrap,
        "NOOP_TOPICS": ",".join(topics),
        "NOOP_EXPECTED": str(expected),
        "NOOP_RESULT": str(result),
        "NOOP_DATADIR": str(root / "faust-noop-data"),  # the run's temporary root, not the checkout
    }
    subprocess.run(
        [sys.executable, "-m", "bench.faust_noop", "worker", "-l", "warn"],
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    return float(result.read_text()) if result.exists() else float("nan")


def _drain(
    bootstrap: str, app_id: str, topics: list[str], w: Worker, total: int, meter: CpuMeter | None = None
) -> list[tuple[float, int, float]]:
    """(seconds, events committed, worker RSS MB) each second until ``total`` are committed.

    ``meter`` reads CPU from the first committed batch to the end: the worker's start-up (imports,
    joining the group) is not the drain's."""
    assert w.proc is not None
    t0 = time.perf_counter()
    samples: list[tuple[float, int, float]] = []
    metering = False
    while True:
        # Each second, and every 0.1 s in what should be the last second: polled each second
        # throughout, the end was seen up to 1 s late (~5% of a 20-s drain).
        near_end = bool(samples) and total - samples[-1][1] < 1.5 * samples[-1][1] / samples[-1][0]
        time.sleep(0.1 if near_end else 1.0)
        w.check_running()
        try:
            done = consumer_committed(bootstrap, app_id, topics)
        except KafkaError as err:
            if not err.retriable:  # the group's coordinator loading after start: ask again
                raise
            continue
        samples.append((time.perf_counter() - t0, done, rss_mb(w.proc.pid)))
        if meter is not None and done and not metering:
            meter.start(done)
            metering = True
        if done >= total:
            if meter is not None:
                meter.stop(done)
            return samples


def pipeline(n_events: int = 1_000_000, n_memory: int = 5_000_000) -> dict[str, Any]:
    """Throughput on a pre-filled backlog of ``n_events``; then ``n_memory - n_events`` more are
    published while the worker runs, for its memory after ``n_memory``."""
    root = Path(tempfile.mkdtemp(prefix="parcours-bench-"))
    broker = KafkaBroker(root / "kafka")
    bootstrap = broker.start()
    out: dict[str, Any] = {"events": n_events}
    # Where the suite's own wall time goes (it must fit, with the others, in 20 minutes).
    phases: dict[str, float] = {}
    mark = [time.perf_counter()]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(now - mark[0], 1)
        mark[0] = now

    out["phase_seconds"] = phases
    try:
        payloads = corpus(n_events)
        phase("broker_and_corpus")
        prefix = f"b{uuid.uuid4().hex[:6]}"
        settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix, topic_partitions=4)
        ensure_topics(settings)
        names = TopicNames(prefix=prefix)
        out["prefill_s"] = fill(bootstrap, prefix, payloads)
        phase("prefill")
        # 1. ceilings, side by side on the same topic
        bare, bare_runs = median_of(lambda: drain_rate(bootstrap, list(names.all_raw), n_events), 3)
        out["bare_consumer_events_per_s"] = {"median": bare, "runs": bare_runs}
        # the same topics through a Faust agent doing nothing (50k events: it is slow)
        out["faust_noop_agent_events_per_s"] = faust_noop_rate(bootstrap, list(names.all_raw), 50_000, root)
        out["bare_chdb_insert_rows_per_s"] = bare_chdb_insert(payloads[:100_000], root)
        out["stage_profile"] = stage_profile(payloads[:100_000], root)
        phase("ceilings_and_stage_profile")
        # 2. one worker drains the backlog
        env = worker_env(
            bootstrap=bootstrap,
            data_dir=root / "worker",
            app_id=f"{prefix}-g",
            PARCOURS_TOPIC_PREFIX=prefix,
        )
        w = Worker(env, root / "worker.log")
        w.start()
        assert w.proc is not None
        app_id = env["PARCOURS_APP_ID"]
        raw = list(names.all_raw)
        meter = CpuMeter(w.proc.pid, broker_pid(broker.state_dir))
        samples = _drain(bootstrap, app_id, raw, w, n_events, meter)
        phase("drain_1m")
        elapsed = samples[-1][0]
        rss_1m = rss_mb(w.proc.pid)
        reader = WorkerReader(Settings(web_port=w.port, admin_token=env["PARCOURS_ADMIN_TOKEN"]))
        [stored] = reader.query("SELECT count() AS n FROM events_dedup")
        health = w.health()
        spent = health.get("seconds", {})
        first = next(s for s in samples if s[1])  # the first sample with a batch committed
        out["pipeline"] = {
            "events_per_s": n_events / elapsed,  # from the worker's start: its start-up counts
            "seconds": elapsed,
            "seconds_to_first_commit": first[0],
            "events_per_s_after_first_commit": (n_events - first[1]) / max(elapsed - first[0], 1e-9),
            "stored": stored["n"],
            "ratio_to_bare_consumer": (n_events / elapsed) / bare,
            "progress": samples[:: max(1, len(samples) // 40)],
            # the worker's own accounting of where its ingest time went (GET /v1/health)
            "worker_seconds": spent,
            "batches": health.get("counters", {}).get("ingest.batches"),
            # CPU an event by consumer (bench/cpu.py), and the rates it leaves room for here
            "cpu_per_event": meter.per_event(os.cpu_count() or 1),
        }
        # 3. freshness at half the measured throughput, on the worker that drained 1M, in a steady
        # state: its identity stage first consumes the links it is behind on (~20 s). After 5M
        # that wait took ~190 s of the suite's 20-minute budget: there freshness is measured with
        # the backlog still being consumed (a worker busier than at half rate), and reported so.
        rate = max(100.0, out["pipeline"]["events_per_s"] / 2)
        while consumer_lag(bootstrap, app_id, [*raw, names.dead_letters, names.identity_links]) > 0:
            w.check_running()
            time.sleep(0.5)
        phase("links_backlog_after_1m")
        out["freshness"] = freshness(bootstrap, prefix, reader, rate=rate, seconds=30, payloads=payloads)
        phase("freshness")
        # 4. memory after 1M, then after n_memory: the rest is published while the worker runs
        more = n_memory - n_events
        out["worker_rss_mb"] = {n_events: rss_1m}
        if more > 0:
            # Each further million is the same persons' week again, a month later: past the
            # attribution lookback, as their activity in a later month would be. Replayed in the
            # same week instead, each converter's history inside the lookback grew by a week's
            # events a million, which no stream does (docs/performance.md).
            month = Settings().lookback_days + 1

            def publish_more() -> None:  # in slices: 4M payloads at once would need GBs here
                for start in range(0, more, 200_000):
                    count = min(200_000, more - start)
                    fill(
                        bootstrap,
                        prefix,
                        [
                            fresh_copy(payloads[(start + i) % n_events], days=month * (1 + (start + i) // n_events))
                            for i in range(count)
                        ],
                    )

            filler = threading.Thread(target=publish_more, daemon=True)
            filler.start()
            # committed offsets also count the freshness run's events
            mem = _drain(bootstrap, app_id, raw, w, n_memory + out["freshness"]["published"])
            filler.join()
            phase("publish_and_drain_to_5m")
            links = [names.identity_links]
            links_before = (time.perf_counter(), consumer_lag(bootstrap, app_id, links))
            links_done_before = consumer_committed(bootstrap, app_id, links)
            out["worker_rss_mb"][n_memory] = mem[-1][2]
            out["memory_drain_events_per_s"] = more / mem[-1][0]  # while being published, slower
            out["rss_growth_mb_per_million"] = (mem[-1][2] - rss_1m) / (more / 1e6)
            out["rss_samples"] = [(round(t), d, round(r)) for t, d, r in mem[:: max(1, len(mem) // 20)]]
            # the same rate again, with 5M stored
            before = w.health()
            out["freshness_after_5m"] = freshness(bootstrap, prefix, reader, rate=rate, seconds=30, payloads=payloads)
            after = w.health()
            phase("freshness_after_5m")
            # How far the identity stage (sharing the worker's interpreter) was behind as the raw
            # drain ended, and how fast it caught up meanwhile (a links message carries up to 500 links).
            links_after = (time.perf_counter(), consumer_lag(bootstrap, app_id, links))
            consumed = consumer_committed(bootstrap, app_id, links) - links_done_before
            out["identity_backlog_after_5m"] = {
                "links_messages_behind_at_drain_end": links_before[1],
                "links_messages_behind_after_freshness": links_after[1],
                "links_messages_per_s_meanwhile": consumed / (links_after[0] - links_before[0]),
                # what its live credits cost meanwhile: events read and seconds, a credited conversion
                **_identity_costs(before, after),
            }
        w.stop()
        # The drain twice more, each on its own topics, group and store: the figure is their median.
        runs = [out["pipeline"]] + [_another_drain(bootstrap, payloads, root) for _ in range(2)]
        phase("two_more_drains")
        for key in ("events_per_s", "events_per_s_after_first_commit"):
            out["pipeline"][f"{key}_runs"] = [r[key] for r in runs]
            out["pipeline"][f"{key}_median"] = statistics.median(r[key] for r in runs)
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out


def _identity_costs(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """The identity stage's work between two health readings (``GET /v1/health``)."""

    def delta(section: str, key: str) -> float:
        return float(after.get(section, {}).get(key, 0) - before.get(section, {}).get(key, 0))

    credited = max(delta("counters", "live_credited"), 1.0)
    return {
        "links": delta("counters", "identity_links"),
        "credited": delta("counters", "live_credited"),
        "history_events_read_per_credit": delta("counters", "live_history_read") / credited,
        # the identity stage and the live attribution stage after it, as one (the single writer)
        "process_ms_per_credit": 1000
        * (delta("seconds", "identity.process") + delta("seconds", "attribution.live"))
        / credited,
    }


def _another_drain(bootstrap: str, payloads: list[bytes], root: Path) -> dict[str, float]:
    """One more worker draining the same backlog, from its own fresh topics and store."""
    prefix = f"b{uuid.uuid4().hex[:6]}"
    ensure_topics(Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix, topic_partitions=4))
    fill(bootstrap, prefix, payloads)
    env = worker_env(bootstrap=bootstrap, data_dir=root / prefix, app_id=f"{prefix}-g", PARCOURS_TOPIC_PREFIX=prefix)
    w = Worker(env, root / f"{prefix}.log")
    w.start()
    try:
        samples = _drain(bootstrap, env["PARCOURS_APP_ID"], list(TopicNames(prefix=prefix).all_raw), w, len(payloads))
    finally:
        w.stop()
    elapsed = samples[-1][0]
    first = next(s for s in samples if s[1])
    return {
        "events_per_s": len(payloads) / elapsed,
        "events_per_s_after_first_commit": (len(payloads) - first[1]) / max(elapsed - first[0], 1e-9),
    }


def freshness(
    bootstrap: str, prefix: str, reader: WorkerReader, *, rate: float, seconds: float, payloads: list[bytes]
) -> dict[str, Any]:
    """Publish at a steady rate; probe events are polled until queryable: publish → queryable.

    The events are prepared before the clock starts (fresh ids, their occurred_at filled in as each
    is sent), so that the load generator takes as little as it can of the cores it shares with the
    worker it measures (``bench.kafka_fill.steady``)."""
    frames = [live_frame(payloads[i % len(payloads)]) for i in range(int(rate * seconds) + 1)]
    # This process holds the corpus (GBs): a full collection of that heap stalls the publisher
    # and the poller for seconds and would be counted as pipeline delay. Freeze it out of the GC.
    gc.collect()
    gc.freeze()
    probes: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set() or len(seen) < len(probes):
            pending = [p for p in list(probes) if p not in seen]
            if pending:
                rows = reader.query(
                    "SELECT toString(event_id) AS id FROM events WHERE event_id IN {ids:Array(UUID)}", {"ids": pending}
                )
                now = time.perf_counter()
                for r in rows:
                    seen.setdefault(r["id"], now)
            if stop.is_set() and time.perf_counter() - end_at > 30:
                break
            time.sleep(0.05)

    def probe(event_id: str) -> None:
        probes[event_id] = time.perf_counter()

    end_at = float("inf")
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    published = asyncio.run(
        steady(bootstrap, prefix, frames, rate=rate, seconds=seconds, probe=probe, probe_every=max(1, int(rate / 20)))
    )  # 20 probes a second
    end_at = time.perf_counter()
    # this process's CPU while publishing (the publisher, the poller): taken from the worker's cores
    generator_cores = (time.process_time() - cpu0) / (end_at - t0)
    stop.set()
    poller.join(60)
    delays = sorted(seen[p] - probes[p] for p in probes if p in seen)
    q = statistics.quantiles(delays, n=100) if len(delays) >= 2 else [float("nan")] * 99
    return {
        "rate_per_s": rate,
        "published": published,
        "published_per_s": published / (end_at - t0),
        "load_generator_cores": generator_cores,
        "probes": len(probes),
        "probes_seen": len(delays),
        "p50_s": statistics.median(delays) if delays else None,
        "p99_s": q[98],
        "max_s": max(delays, default=None),
    }
