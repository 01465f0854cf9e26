"""``make demo``: the whole flow on this machine, started and stopped by itself."""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from streams.devstack import REPO, KafkaBroker, Worker, wait_consumed, worker_env
from streams.identity.crm import crm_links
from streams.ingest.publisher import Publisher
from streams.read import WorkerReader
from streams.reports import attribution_answer, format_attribution, format_summary, summary
from streams.settings import Settings
from streams.sim_publish import publish_simulation
from streams.simulate import SimConfig, simulate
from streams.topics import TopicNames


def throwaway_pepper(path: Path) -> str:
    """A random pepper for the demo's data, kept beside it (readable by its owner only) so that
    ``parcours forget`` can hash an e-mail as the demo did: PARCOURS_PII_PEPPER_FILE=<path>."""
    pepper = secrets.token_urlsafe(32)
    path.write_text(pepper)
    path.chmod(0o600)
    return pepper


def _period(cfg: SimConfig) -> str:
    zone = ZoneInfo(cfg.tz)
    end = cfg.end_at().astimezone(zone)
    start = end - timedelta(days=cfg.days)
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {cfg.tz}"


def run_demo(
    *, persons: int, days: int, seed: int, keep: bool, root: Path | None = None, end: datetime | None = None
) -> dict[str, Any]:
    root = root or REPO / "var" / "demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    broker = KafkaBroker(root / "kafka")
    t0 = time.monotonic()
    bootstrap = broker.start()
    click.echo(f"kafka      {bootstrap} (started in {time.monotonic() - t0:.1f} s)")
    pepper = throwaway_pepper(root / "pii-pepper")
    click.echo(f"pepper     a throwaway PII pepper for this demo ({root / 'pii-pepper'}); set your own in production")
    env = worker_env(bootstrap=bootstrap, data_dir=root / "data", app_id="parcours-demo", PARCOURS_PII_PEPPER=pepper)
    settings = Settings(
        kafka_bootstrap=bootstrap,
        data_dir=root / "data",
        app_id="parcours-demo",
        web_port=int(env["PARCOURS_WEB_PORT"]),
        admin_token=env["PARCOURS_ADMIN_TOKEN"],
        pii_pepper=pepper,
    )
    worker = Worker(env, root / "worker.log")
    try:
        t0 = time.monotonic()
        worker.start()
        click.echo(f"worker     http://127.0.0.1:{worker.port} (ready in {time.monotonic() - t0:.1f} s)")
        reader = WorkerReader(settings)  # the worker owns the store: everything else goes through it
        t0 = time.monotonic()
        sim = simulate(SimConfig(persons=persons, days=days, seed=seed, pepper=pepper, end=end))
        click.echo(
            f"simulated  {persons} persons over {days} days: {len(sim.emitted)} records "
            f"in {time.monotonic() - t0:.1f} s"
        )
        click.echo(f"period     {_period(sim.config)} (the dashboards' time range for this data)")
        load = crm_links(((i, r, "") for i, r in enumerate(sim.crm_export(), start=1)), pepper)
        with Publisher(settings) as pub:
            for sent in pub.publish_links(load.links):
                sent.get(timeout=60)
        click.echo(
            f"crm        {load.linked} of {load.records} CRM records linked to their customer "
            f"({load.no_consent} without analytics consent linked nothing), as `parcours load crm` does"
        )
        community = REPO / "dashboards" / "community.example.json"
        loaded = reader.post("/v1/load/community?source=community.example.json", community.read_bytes())
        click.echo(
            f"community  {loaded['objectives']} objectives and {loaded['flagged_accounts']} flagged accounts from "
            "dashboards/community.example.json, as `parcours load community` does"
        )
        spent = reader.post("/v1/load/spend?source=simulated-spend.csv", sim.spend_csv())
        click.echo(
            f"spend      {spent['rows']} days of paid-search spend, as `parcours load spend` does (TV airings and "
            "sponsored posts carry their cost in their events)"
        )
        t0, published_at = time.monotonic(), datetime.now(UTC).replace(microsecond=0)
        publish_simulation(sim, settings, progress=sys.stderr.isatty())
        click.echo(f"published  in {time.monotonic() - t0:.1f} s")
        names = TopicNames(prefix=settings.topic_prefix)
        waited = wait_consumed(bootstrap, settings.app_id, [*names.all_raw, names.dead_letters, names.identity_links])
        click.echo(f"consumed   everything {waited:.1f} s after publishing ended")
        data = summary(reader)
        click.echo("")
        click.echo(format_summary(data))
        click.echo(f"\nground truth: {sim.truth.conversions} conversions, revenue {sim.truth.revenue:,.2f}")
        end = sim.config.end_at()
        truth = sim.truth.in_store_linkage(end - timedelta(days=days + 1), end, crm=True)
        click.echo(
            f"              {truth['linkable']} of {truth['purchases']} in-store sales are linkable (their card, "
            "e-receipt or app id reaches, through the CRM or their own events, the buyer's online, social or TV "
            "identifiers); linked above: the pipeline's"
        )
        zone = ZoneInfo(sim.config.tz)
        start, end = (end - timedelta(days=days)).astimezone(zone), end.astimezone(zone)
        t0 = time.monotonic()
        reader.post("/v1/attribution/run", {"start": start.isoformat(), "end": end.isoformat()}, timeout=3600)
        click.echo(f"\nattribution run over the simulated week in {time.monotonic() - t0:.1f} s\n")
        click.echo(format_attribution(attribution_answer(reader, start, end)))
        # kept running, the worker owns the store: the commands go through it
        where = f"--worker-url http://127.0.0.1:{worker.port}" if keep else f"--data-dir {root / 'data'}"
        click.echo(
            f"\nAfter the demo (README: After the demo): `parcours {where} attribution show "
            f"--since {start.isoformat()} --until {end.isoformat()}`; every dashboard panel on this week: "
            f"`parcours {where} dashboards preview --since {start.isoformat()} "
            f"--until {end.isoformat()}`; the pipeline's health, on arrival times: `parcours "
            f"{where} dashboards preview parcours-health --since {published_at.isoformat()} "
            f"--until {(datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0).isoformat()}`."
        )
        return data
    finally:
        if not keep:
            worker.stop()
            broker.stop()
        else:
            _left_running(root, bootstrap, worker)


def _left_running(root: Path, bootstrap: str, worker: Worker) -> None:
    """``--keep``: where the worker and the broker answer, the demo's secrets, how to stop them."""
    pid = worker.proc.pid if worker.proc else "?"
    url = f"http://127.0.0.1:{worker.port}"
    click.echo(
        "\nLeft running:\n"
        f"  worker     {url} (pid {pid}, log {worker.log_path})\n"
        f"  kafka      {bootstrap} (state in {root / 'kafka'})\n"
        f"  settings   export PARCOURS_ADMIN_TOKEN={worker.env['PARCOURS_ADMIN_TOKEN']} "
        f"PARCOURS_PII_PEPPER_FILE={root / 'pii-pepper'} PARCOURS_KAFKA_BOOTSTRAP={bootstrap}\n"
        f"  then       parcours --worker-url {url} summary (or person --sample 3, forget, attribution show); "
        "parcours publish <file.jsonl>\n"
        # the worker first, and the broker once it has gone (it commits its offsets on the way out)
        # gone, or a zombie nobody reaps (its parent, the demo, has exited): `kill -0` alone waits forever
        f"  stop       kill {pid}; while ps -o stat= -p {pid} | grep -qv '^Z'; do sleep 0.5; done; "
        f"bash {REPO / 'deploy' / 'kafka' / 'kafka.sh'} stop {root / 'kafka'}"
    )
