"""``parcours``: one command per user task. ``parcours --help`` lists them."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import orjson

from streams.attribution.rules import RULE_MODELS
from streams.errors import ParcoursError
from streams.reports import DATA_DRIVEN_MODELS
from streams.settings import get_settings


def _reader(settings: Any) -> Any:
    """The store a read command reads: through the worker --worker-url names (which must answer),
    the store --data-dir names (never a worker that happens to answer on the default port), or
    as ``open_reader`` decides."""
    from streams.read import open_reader, worker_running
    from streams.store import open_backend

    obj = click.get_current_context().find_root().obj or {}
    if obj.get("worker"):
        if not worker_running(settings):
            _fail(f"no worker answers at {obj['worker']}")
        return open_reader(settings)
    if obj.get("direct"):
        if not settings.chdb_path.exists():
            _fail(f"no store at {settings.chdb_path}: check --data-dir")
        return open_backend(settings)
    return open_reader(settings)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="the embedded store's folder (PARCOURS_DATA_DIR); after `make demo`: var/demo/data",
)
@click.option("--worker-url", help="a running worker to read through, e.g. http://127.0.0.1:6066 (PARCOURS_WEB_*)")
def main(data_dir: Path | None, worker_url: str | None) -> None:
    """Parcours: cross-channel customer journeys on Kafka, Faust and ClickHouse."""
    from urllib.parse import urlparse

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if data_dir is not None:
        os.environ["PARCOURS_DATA_DIR"] = str(data_dir)
        pepper = data_dir.parent / "pii-pepper"  # the demo's throwaway pepper, kept beside its store
        if pepper.is_file() and not os.environ.get("PARCOURS_PII_PEPPER"):
            os.environ.setdefault("PARCOURS_PII_PEPPER_FILE", str(pepper))
    if worker_url is not None:
        url = urlparse(worker_url if "//" in worker_url else f"http://{worker_url}")
        try:
            port = url.port
        except ValueError:
            port = None
        if url.scheme != "http" or not url.hostname or not port:
            raise click.BadParameter("expected http://HOST:PORT", param_hint="--worker-url")
        os.environ["PARCOURS_WEB_HOST"], os.environ["PARCOURS_WEB_PORT"] = url.hostname, str(port)
    # Where a reader reads: the store named by --data-dir as it is; the worker named by --worker-url.
    click.get_current_context().obj = {"direct": data_dir is not None and worker_url is None, "worker": worker_url}
    get_settings.cache_clear()
    try:  # every command reads the settings: a bad PARCOURS_* variable is one clear line, not a traceback
        get_settings()
    except ParcoursError as err:
        _fail(str(err))
    except ValidationError as err:
        lines = [_setting_error(e["loc"], e["msg"]) for e in err.errors()]
        _misconfigured("; ".join(lines))
    except SettingsError as err:  # a PARCOURS_* variable that must be JSON and is not
        field = re.search(r'field "(\w+)"', str(err))
        name = f"PARCOURS_{field[1].upper()}" if field else "a PARCOURS_* variable"
        _misconfigured(f"{name}: not valid JSON ({err.__cause__ or err})")


def _setting_error(loc: tuple[int | str, ...], msg: str) -> str:
    """``PARCOURS_WRITE_KEYS[web]: Input should be a valid string``: the variable, the key at fault."""
    if not loc:
        return msg.removeprefix("Value error, ")
    keys = "".join(f"[{k}]" for k in loc[1:] if isinstance(k, str))  # a list's index says less than its value
    return f"PARCOURS_{str(loc[0]).upper()}{keys}: {msg}"


def _misconfigured(message: str) -> None:
    """A setting the command cannot run with: a usage error (exit 2), as click's own are."""
    click.echo(f"error: invalid settings: {message}", err=True)
    sys.exit(2)


@main.command()
def migrate() -> None:
    """Apply pending ClickHouse migrations."""
    from streams.read import worker_running
    from streams.store import migrate as run
    from streams.store import open_backend
    from streams.store.migrations import grafana_user_statements

    s = get_settings()
    obj = click.get_current_context().find_root().obj or {}
    if s.embedded and (obj.get("worker") or (not obj.get("direct") and worker_running(s))):
        _fail(
            f"a worker at http://{s.web_host}:{s.web_port} owns the embedded store and applies pending "
            "migrations when it starts: stop the worker first to run them by hand"
        )
    try:
        backend = open_backend(s)
        applied = run(backend, retention_days=s.retention_days)
        if s.grafana_db_password is not None and not s.embedded:
            database = (s.clickhouse_url.get_secret_value().rsplit("/", 1)[-1] if s.clickhouse_url else "") or "default"
            for stmt in grafana_user_statements(
                s.grafana_db_user, s.grafana_db_password.get_secret_value(), database.split("?")[0]
            ):
                backend.execute(stmt)
            click.echo(f"read-only user {s.grafana_db_user} ensured")
    except ParcoursError as err:
        _fail(str(err))
    click.echo("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


@main.group()
def store() -> None:
    """The store: serve embedded chDB to several workers over ClickHouse's HTTP interface."""


@store.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8123, show_default=True)
def store_serve(host: str, port: int) -> None:
    """Own the chDB store under PARCOURS_DATA_DIR and serve it on HOST:PORT; point workers at it
    with PARCOURS_CLICKHOUSE_URL=http://default:TOKEN@HOST:PORT/ (TOKEN: PARCOURS_ADMIN_TOKEN)."""
    import contextlib
    import signal
    import threading

    from streams import allocators
    from streams.store.http import HttpBackend, serve
    from streams.store.migrations import migrate as run

    allocators.configure()
    s = get_settings()
    token = s.admin_token.get_secret_value() if s.admin_token else ""
    try:
        server = serve(s.chdb_path, host, port, password=token)
    except (ParcoursError, OSError) as err:  # the store owned by a worker, the port taken
        _fail(str(err))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = HttpBackend(f"http://default:{token}@{host}:{server.server_port}/")
    run(client, retention_days=s.retention_days)
    client.close()
    click.echo(f"serving {s.chdb_path} on http://{host}:{server.server_port}", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        while not stop.wait(allocators.RELEASE_EVERY_S):
            allocators.release()
    server.shutdown()
    server.server_close()


@main.command()
def topics() -> None:
    """Create Parcours's Kafka topics (idempotent)."""
    from streams.kafka import ensure_topics

    created = ensure_topics(get_settings())
    click.echo("created: " + (", ".join(created) if created else "nothing (all exist)"))


@main.command()
@click.option("--loglevel", default="warning", show_default=True)
def worker(loglevel: str) -> None:
    """Run a stream worker (Faust). Several workers share the work through the consumer group;
    more than one requires a ClickHouse server (PARCOURS_CLICKHOUSE_URL)."""
    from streams import allocators
    from streams.kafka import ensure_topics

    allocators.configure()  # before any thread: see streams/allocators.py
    s = get_settings()
    try:
        s.pepper()  # a worker never hashes with a missing or public pepper
    except ParcoursError as err:
        _fail(str(err))
    (s.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    try:
        ensure_topics(s)
    except Exception as err:  # noqa: BLE001 — any client error here means "cannot reach Kafka"
        _fail(f"cannot reach Kafka at {s.kafka_bootstrap}: {err}")
    from faust.worker import Worker

    from streams.app import create_app

    Worker(create_app(s), loglevel=loglevel, quiet=True).execute_from_commandline()


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--raw", is_flag=True, help="lines are simulator records (channel, timestamp, bytes): send unvalidated")
def publish(file: Path, raw: bool) -> None:
    """Publish events from a JSONL file (one event per line), with a progress bar on a terminal.
    Lines ``parcours simulate --out`` wrote (simulator records: channel, arrival time, bytes, some
    deliberately invalid) are sent as they are, as the demo does. Invalid lines are reported with
    their line number and the field at fault, and make the command exit 1."""
    from tqdm import tqdm

    from streams.errors import InvalidEvent
    from streams.ingest.publisher import Publisher
    from streams.settings import CHANNELS

    lines = [(n, line) for n, line in enumerate(file.read_bytes().splitlines(), start=1) if line.strip()]
    if not lines:
        _fail(f"{file}: no events (the file is empty or holds only blank lines)")
    bad = 0
    sent: list[tuple[int, Any]] = []  # (line, the send's future): counted as published once acknowledged
    try:
        pub = Publisher(get_settings())
    except ParcoursError as err:
        _fail(str(err))
    with pub:
        for n, line in tqdm(lines, unit="ev", desc="publishing", disable=not sys.stderr.isatty()):
            try:
                doc = orjson.loads(line)
                if raw or _simulator_record(doc):
                    if doc["channel"] not in CHANNELS:
                        raise ValueError(f"channel {doc['channel']!r} is not one of {', '.join(CHANNELS)}")
                    value = doc["value"].encode("latin-1")
                    sent.append((n, pub.publish_raw(doc["channel"], value, timestamp_ms=doc["timestamp_ms"])))
                else:
                    sent.append((n, pub.publish(doc)))
            except InvalidEvent as err:
                bad += 1
                click.echo(f"line {n}: {err}", err=True)
            except orjson.JSONDecodeError as err:
                bad += 1
                click.echo(f"line {n}: not JSON: {err}", err=True)
            except (KeyError, TypeError, AttributeError, ValueError) as err:  # not an event object, nor a record
                bad += 1
                click.echo(f"line {n}: neither an event object nor a simulator record ({err!r})", err=True)
        failed = 0
        for n, future in sent:
            try:
                future.get(timeout=120)
            except Exception as err:  # noqa: BLE001 — whatever the broker answered, that line is not stored
                failed += 1
                click.echo(f"line {n}: not acknowledged by Kafka: {err}", err=True)
    click.echo(f"published {len(sent) - failed}, refused {bad}" + (f", not acknowledged {failed}" if failed else ""))
    if bad or failed:
        sys.exit(1)


def _simulator_record(doc: Any) -> bool:
    return isinstance(doc, dict) and set(doc) == {"channel", "timestamp_ms", "value"}


def _local_midnight(value: str | None) -> datetime | None:
    """'2027-01-04' → the instant that day starts in the simulator's time zone (None: its default)."""
    from datetime import date, time
    from zoneinfo import ZoneInfo

    from streams.simulate import SimConfig

    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(), ZoneInfo(SimConfig.tz)).astimezone(UTC)


_END = click.option(
    "--end",
    callback=lambda _ctx, _param, value: _local_midnight(value),
    help="the local day the simulated days end before (YYYY-MM-DD) [default: 2026-11-30, fixed]",
)


@main.command()
@click.option("--persons", default=2000, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", default=42, show_default=True)
@_END
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write JSONL instead of publishing")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), help="write the ground truth JSON here")
@click.option(
    "--crm", type=click.Path(dir_okay=False, path_type=Path), help="write the brand's CRM export (JSONL) here"
)
@click.option(
    "--spend", type=click.Path(dir_okay=False, path_type=Path), help="write paid search's daily spend (CSV) here"
)
def simulate(
    persons: int,
    days: int,
    seed: int,
    end: datetime | None,
    out: Path | None,
    truth: Path | None,
    crm: Path | None,
    spend: Path | None,
) -> None:
    """Simulate a population's cross-channel behaviour and publish it (or write JSONL)."""
    from streams.simulate import SimConfig
    from streams.simulate import simulate as run

    s = get_settings()
    try:
        sim = run(SimConfig(persons=persons, days=days, seed=seed, end=end, pepper=s.pepper()))
    except ParcoursError as err:
        _fail(str(err))
    if truth:
        sim.truth.save(truth)
    if crm:
        crm.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in sim.crm_export()))
        click.echo(f"wrote {len(sim.truth.crm)} CRM records to {crm} (load them with `parcours load crm {crm}`)")
    if spend:
        spend.write_bytes(sim.spend_csv())
        click.echo(
            f"wrote {len(sim.spend_export())} days of paid-search spend to {spend} "
            f"(load them with `parcours load spend {spend}`)"
        )
    if out:
        with out.open("wb") as f:
            for line in sim.jsonl():
                f.write(line + b"\n")
        click.echo(f"wrote {len(sim.emitted)} records to {out}")
        return
    from streams.sim_publish import publish_simulation

    try:
        acknowledged = publish_simulation(sim, s, progress=sys.stderr.isatty())
    except ParcoursError as err:
        _fail(str(err))
    click.echo(
        f"published {acknowledged} records, each acknowledged by Kafka ({len(sim.valid_ids)} distinct valid events)"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True)
def summary(as_json: bool) -> None:
    """Events per channel, dead letters by reason, persons, conversions."""
    from streams.reports import format_summary
    from streams.reports import summary as build

    try:
        data = build(_reader(get_settings()))
    except ParcoursError as err:
        _fail(str(err))
    click.echo(json.dumps(data, indent=2, default=str) if as_json else format_summary(data))


@main.command()
@click.argument("query")
def sql(query: str) -> None:
    """Run a read-only SQL query against the store and print JSON rows."""
    from streams.read import WorkerReader
    from streams.store.guard import read_only_query

    try:
        reader = _reader(get_settings())
        # a worker's endpoint guards the statement itself; an opened store is guarded here
        rows = reader.query(query) if isinstance(reader, WorkerReader) else read_only_query(reader, query)
    except ParcoursError as err:
        _fail(str(err))
    for r in rows:
        click.echo(orjson.dumps(r, default=str).decode())


@main.command()
@click.option("--persons", default=3000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", default=42, show_default=True)
@click.option("--keep", is_flag=True, help="leave Kafka and the worker running, and say how to reach and stop them")
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    help="where the demo keeps its broker, store and pepper (emptied first) [default: var/demo]",
)
@_END
def demo(persons: int, days: int, seed: int, keep: bool, root: Path | None, end: datetime | None) -> None:
    """Start Kafka and a worker, simulate and publish, wait until consumed, print a summary."""
    from streams.demo import run_demo

    started = time.monotonic()
    try:
        run_demo(persons=persons, days=days, seed=seed, keep=keep, end=end, root=root and root.resolve())
    except ParcoursError as err:
        _fail(str(err))
    click.echo(f"demo finished in {time.monotonic() - started:.0f} s")


def _day(value: str) -> datetime:
    """'2026-03-01' or an ISO timestamp → aware UTC datetime (naive input is read as UTC)."""
    t = datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@main.group()
def attribution() -> None:
    """Attribution: batch recompute, path tables, validation against the simulator's truth."""


def _answer(
    backend: Any, start: datetime, end: datetime, model: str, data_driven: str, fmt: str, *, after_run: bool = False
) -> None:
    from streams.reports import attribution_answer, format_attribution

    a = attribution_answer(backend, start, end, model=model, data_driven=data_driven)
    if not a["channels"] and after_run:
        _fail(f"no conversion between {start.isoformat()} and {end.isoformat()}: nothing to attribute")
    if not a["channels"]:
        _fail(
            f"no batch attribution between {start.isoformat()} and {end.isoformat()}: run "
            f"`parcours attribution run --since {start.isoformat()} --until {end.isoformat()}` first"
        )
    if fmt == "json":
        click.echo(json.dumps(a, indent=2))
    elif fmt == "csv":
        out = csv.writer(sys.stdout)
        out.writerow(
            [
                "channel",
                f"{model}_conversions",
                f"{model}_revenue",
                f"{data_driven}_conversions",
                f"{data_driven}_revenue",
            ]
        )
        keys = ("rule_conversions", "rule_revenue", "data_driven_conversions", "data_driven_revenue")
        for r in a["channels"]:  # a model with no figure for a row leaves its cells empty
            out.writerow([r["channel"], *(round(r[k], 4) if k in r else "" for k in keys)])
    else:
        click.echo(format_attribution(a))
    if not a["data_driven_found"] and fmt != "table":
        click.echo(f"note: no {data_driven} figures: no batch run over exactly this range", err=True)


_MODEL = click.option(
    "--model", default="last_touch", show_default=True, type=click.Choice(RULE_MODELS), help="rule-based model"
)
_DATA_DRIVEN = click.option(
    "--data-driven",
    default="markov",
    show_default=True,
    type=click.Choice(DATA_DRIVEN_MODELS),
    help="data-driven model shown beside it",
)
_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)


def _answer_options(command: Any) -> Any:
    """The options of the commands that print the attribution answer."""
    return _MODEL(_DATA_DRIVEN(_FORMAT(command)))


@attribution.command("run")
@click.option("--since", "since", required=True, help="start (date or ISO time, UTC if no zone)")
@click.option("--until", "until", required=True, help="end, exclusive")
@_answer_options
def attribution_run(since: str, until: str, model: str, data_driven: str, fmt: str) -> None:
    """Recompute every model over a date range from ClickHouse (idempotent), then print the answer."""
    from tqdm import tqdm

    from streams.attribution.batch import run_batch
    from streams.read import WorkerReader, worker_running
    from streams.store import open_backend

    s = get_settings()
    start, end = _range(since, until)
    try:
        if s.embedded and worker_running(s):
            # The worker owns chDB: it runs the batch and we wait for its answer.
            reader: Any = WorkerReader(s)
            run = reader.post("/v1/attribution/run", {"start": start.isoformat(), "end": end.isoformat()}, timeout=3600)
        else:
            if s.embedded and not s.chdb_path.exists():  # a run creates no store
                _fail(f"no store at {s.chdb_path}: check --data-dir, or start a worker or `make demo` first")
            bar = tqdm(total=0, unit="person", desc="journeys", disable=not sys.stderr.isatty())

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            reader = open_backend(s)
            r = run_batch(reader, s, start, end, progress=progress)
            bar.close()
            run = {
                "run_id": r.run_id,
                "conversions": r.conversions,
                "null_paths": r.null_paths,
                "credit_rows": r.credit_rows,
            }
        click.echo(
            f"run {run['run_id']}: {run['conversions']} conversions, {run['null_paths']} non-converting paths, "
            f"{run['credit_rows']} credit rows",
            err=True,
        )
        _answer(reader, start, end, model, data_driven, fmt, after_run=True)
    except ParcoursError as err:
        _fail(str(err))


@attribution.command("show")
@click.option("--since", "since", required=True, help="start of a range `attribution run` was run over")
@click.option("--until", "until", required=True, help="its end, exclusive")
@_answer_options
def attribution_show(since: str, until: str, model: str, data_driven: str, fmt: str) -> None:
    """Conversions and revenue per channel, a rule-based and a data-driven model side by side, the
    top converting paths and online against in-store, from the last `attribution run` over the range."""

    start, end = _range(since, until)
    try:
        _answer(_reader(get_settings()), start, end, model, data_driven, fmt)
    except ParcoursError as err:
        _fail(str(err))


def _range(since: str, until: str) -> tuple[datetime, datetime]:
    try:
        start, end = _day(since), _day(until)
    except ValueError as err:
        raise click.BadParameter(f"{err}: use a date (2026-11-23) or an ISO time (2026-11-23T00:00:00+01:00)") from None
    if end <= start:
        raise click.BadParameter("--until must be after --since")
    return start, end


@attribution.command("paths")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--delimiter", default=",", show_default=True, help="CSV field delimiter")
@click.option("--sep", default=">", show_default=True, help="separator between channels in a path")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--order", default=1, show_default=True, help="Markov chain order")
def attribution_paths(file: Path, delimiter: str, sep: str, fmt: str, order: int) -> None:
    """Attribute a path table (columns path, total_conversions[, total_conversion_value, total_null])."""
    from streams.attribution.paths import attribute_paths, format_table, read_path_table

    try:
        credits = attribute_paths(read_path_table(file, delimiter=delimiter, sep=sep), order=order)
    except ParcoursError as err:
        _fail(str(err))
    click.echo(json.dumps(credits, indent=2, sort_keys=True) if fmt == "json" else format_table(credits))


@attribution.command("validate")
@click.option("--persons", default=2000, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", default=42, show_default=True)
def attribution_validate(persons: int, days: int, seed: int) -> None:
    """Compare every model with each channel's true incremental share (simulated with it off)."""
    from streams.attribution.validate import validate

    try:
        v = validate(persons=persons, days=days, seed=seed, settings=get_settings())
    except ParcoursError as err:
        _fail(str(err))
    if not v.conversions or not any(v.true_share.values()):
        _fail(
            f"{v.persons} persons over {days} days converted {v.conversions} times, too few to tell the "
            "models apart: raise --persons or --days"
        )
    click.echo(
        f"{v.persons} persons, seed {v.seed}, {v.conversions} conversions; error = total variation "
        "distance between a model's channel shares and the true incremental shares (0 is perfect)"
    )
    click.echo(v.table())


@main.group()
def dashboards() -> None:
    """Grafana dashboards: push them to a running Grafana."""


@dashboards.command("push")
@click.option("--url", envvar="PARCOURS_GRAFANA_URL", default="http://127.0.0.1:3000", show_default=True)
@click.option("--token", envvar="PARCOURS_GRAFANA_TOKEN", required=True, help="service-account token (env)")
@click.option("--folder", default="Parcours", show_default=True)
def dashboards_push(url: str, token: str, folder: str) -> None:
    """Push every dashboard (same uid each time; Grafana keeps the older versions)."""
    from streams.grafana.push import push

    try:
        for p in push(url, token, folder_title=folder):
            click.echo(f"{p.uid}: version {p.version} {p.url}")
    except ParcoursError as err:
        _fail(str(err))


@dashboards.command("preview")
@click.option("--since", required=True, help="start of the time range (date or ISO time, UTC if no zone)")
@click.option("--until", required=True, help="end of the time range")
@click.option("--rows", default=5, show_default=True, help="rows shown per panel")
@click.argument("uids", nargs=-1)
def dashboards_preview(since: str, until: str, rows: int, uids: tuple[str, ...]) -> None:
    """Run every panel's query (macros expanded as the ClickHouse plugin does, variables at their
    defaults) against the store and print the first rows: the dashboards without Grafana."""
    from streams.grafana.macros import QueryContext, expand, nice_interval, titled
    from streams.grafana.spec import DASHBOARDS

    start, end = _range(since, until)
    known = [d.uid for d in DASHBOARDS]
    if unknown := [u for u in uids if u not in known]:
        raise click.BadParameter(f"no dashboard {', '.join(unknown)}; the dashboards are {', '.join(known)}")
    try:
        reader = _reader(get_settings())
        reader.query("SELECT 1 AS ok")  # a refused token or an owned store: one line, not one per panel
    except ParcoursError as err:
        _fail(str(err))
    click.echo(f"times in UTC; {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    for d in DASHBOARDS:
        if uids and d.uid not in uids:
            continue
        try:
            options = {
                v.name: [str(next(iter(r.values()))) for r in reader.query(v.query)] if v.query else list(v.options)
                for v in d.variables
            }
        except ParcoursError as err:
            _fail(str(err))
        variables = {v.name: v.default for v in d.variables}
        ctx = QueryContext(
            start=start,
            end=end,
            interval_s=nice_interval((end - start).total_seconds()),
            variables=variables,
            options=options,
        )
        click.echo(f"\n## {d.title}\n{d.description}")
        for p in d.panels:
            title = titled(p.title, variables)
            try:
                result = reader.query(expand(p.sql, ctx))
            except ParcoursError as err:
                click.echo(f"- {title}: ERROR {err}")
                continue
            click.echo(f"- {title} ({len(result)} rows)")
            for r in result[:rows]:
                click.echo("    " + ", ".join(f"{k}={v}" for k, v in r.items()))


@main.group()
def load() -> None:
    """Load reference data the dashboards use (spend, community objectives)."""


def _load_reference(kind: str, file: Path, local: Any) -> Any:
    """``file`` into the store: through the worker that owns it (``/v1/load/<kind>``), else by
    ``local(backend, bytes)``. One line on any refusal."""
    from streams.read import WorkerReader

    try:
        target = _reader(get_settings())
        if isinstance(target, WorkerReader):
            return target.post(f"/v1/load/{kind}?source={quote(str(file))}", file.read_bytes())
        return local(target, file.read_bytes())
    except ParcoursError as err:
        _fail(str(err))


@load.command("spend")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_spend_cmd(file: Path) -> None:
    """Spend per channel and day from a CSV (day, channel, campaign, amount, currency)."""
    from streams.journeys.taxonomy import Taxonomy
    from streams.store.reference import load_spend

    tax = Taxonomy()

    def local(b: Any, data: bytes) -> dict[str, int]:  # as the worker's /v1/load/spend answers
        return {"rows": load_spend(b, data, source=str(file), is_channel=tax.is_channel, channels=tax.channel_names())}

    done = _load_reference("spend", file, local)
    click.echo(f"loaded {done['rows']} spend rows")


@load.command("devices")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_devices_cmd(file: Path) -> None:
    """Shared devices (fitting-room mirrors, kiosks, tills, store tablets): a CSV whose first column
    is the device id (a header naming device_id is skipped). They never link customers again, and
    the links they made are taken back by the identity stage."""
    import csv

    from streams.ingest.publisher import Publisher

    s = get_settings()
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            devices = [row[0].strip() for row in csv.reader(f) if row and row[0].strip()]
    except (UnicodeDecodeError, csv.Error) as err:
        _fail(f"{file}: not a CSV of device ids ({err})")
    if devices and devices[0].lower() in ("device_id", "device"):
        devices = devices[1:]
    if not devices:
        _fail(f"{file}: no device ids")
    try:
        with Publisher(s) as pub:
            for i in range(0, len(devices), 1000):
                pub.publish_control({"control": "shared_devices", "devices": devices[i : i + 1000]}).get(timeout=60)
    except Exception as err:  # noqa: BLE001 — kafka-python's errors: one line, not a traceback
        _fail(f"cannot send to Kafka at {s.kafka_bootstrap}: {err}")
    click.echo(f"{len(devices):,} shared devices sent to the identity stage")


@load.command("crm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_crm_cmd(file: Path) -> None:
    """CRM / loyalty export (CSV with a header, or JSON Lines): crm_id, loyalty_ids, email, phone,
    social, consent_analytics, deleted. E-mails and phones are hashed here, as events are; each
    record links its identifiers to its CRM id through the identity stage (a worker applies them)."""
    from streams.identity.crm import crm_links, read_records
    from streams.ingest.publisher import Publisher

    s = get_settings()
    try:
        load = crm_links(read_records(file), s.pepper())
        with Publisher(s) as pub:
            sent_all = [pub.publish_control({"control": "retract", "source": src}) for src in load.retract]
            sent_all += pub.publish_links(load.links)
            for sent in sent_all:
                sent.get(timeout=60)
    except ParcoursError as err:
        _fail(str(err))
    except Exception as err:  # noqa: BLE001 — kafka-python's errors: one line, not a traceback
        _fail(f"cannot send to Kafka at {s.kafka_bootstrap}: {err}")
    click.echo(
        f"{load.linked:,} of {load.records:,} records sent to the identity stage "
        f"({len(load.links):,} identifiers); {load.no_consent:,} without analytics consent and "
        f"{load.deleted:,} flagged deleted link nothing (what they linked before is taken back; "
        "to erase a customer's data: `parcours forget crm:ID`)"
        + (f"; {load.repeated:,} repeated a CRM id already in the file (joined to it)" if load.repeated else "")
    )
    for line, why in load.refused[:20]:
        click.echo(f"  line {line}: {why}", err=True)
    if load.refused:
        _fail(f"{len(load.refused):,} records refused (first ones above); the others were sent")


@load.command("community")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_community_cmd(file: Path) -> None:
    """Objectives (targets) and flagged accounts from a JSON file (see dashboards/community.example.json)."""
    from streams.store.reference import load_community

    def local(b: Any, data: bytes) -> dict[str, int]:  # as the worker's /v1/load/community answers
        cfg = load_community(b, data, source=str(file))
        return {"objectives": len(cfg.objectives), "flagged_accounts": len(cfg.flagged_accounts)}

    done = _load_reference("community", file, local)
    click.echo(f"loaded {done['objectives']} objectives, {done['flagged_accounts']} flagged accounts")


@main.command()
@click.argument("key")
@click.option("--timeout", default=120.0, show_default=True, help="seconds to wait for the worker to confirm")
@click.option("--dry-run", is_flag=True, help="list the identifiers and rows per table that would go; erase nothing")
def forget(key: str, timeout: float, dry_run: bool) -> None:
    """Erase a person (person id, or any of its identifiers as kind:value; a clear e-mail or phone,
    email:Jane.Doe@Example.com, is hashed as the edge does): identifiers, events, dead letters,
    journeys and credits. The identity stage performs it in stream order and records it; the
    erasures topic re-applies it to any replay (README, "Reliability and privacy")."""
    from streams.control import request_erasure
    from streams.identity.erasure import counts, person_identifiers
    from streams.identity.explain import UnknownPerson, exists, identifier_key, resolve

    _check_person_key(key)
    s = get_settings()
    try:
        given, key = key, identifier_key(key, s.pepper())
        reader = _reader(s)
        if not exists(reader, key):
            raise UnknownPerson(given)
        if dry_run:
            pid = resolve(reader, key)
            ids = person_identifiers(reader, pid, {key} if ":" in key else set())
            click.echo(f"would erase person {pid}: {len(ids)} identifiers")
            for ident in ids:
                click.echo(f"  {ident}")
            for table, n in counts(reader, pid, ids).items():
                click.echo(f"  {table}: {n} rows")
            return
        row = request_erasure(s, key, timeout=timeout)
    except ParcoursError as err:
        _fail(str(err))
    click.echo(f"erased person {row['person_id']}: {row['rows_deleted']} rows (erasure {row['erasure_id']})")


def _check_person_key(key: str) -> None:
    """A key that names no person is a usage error before anything is read or erased."""
    from streams.identity.identifiers import person_key_problem

    if (problem := person_key_problem(key)) is not None:
        raise click.BadParameter(problem, param_hint="the person id or identifier")


@main.command()
@click.argument("identifier", required=False)
@click.option("--sample", type=click.IntRange(1, 50), help="list this many persons worth a look instead")
def person(identifier: str | None, sample: int | None) -> None:
    """Show a person (by person id or kind:value identifier; a clear e-mail or phone is hashed as
    the edge does): identifiers, how and when each was linked, and the journey. ``--sample N``:
    persons whose journey crosses channel families and converted, to look up."""
    from streams.identity.explain import UnknownPerson, exists, explain, identifier_key

    if (identifier is None) == (sample is None):
        raise click.UsageError("give an IDENTIFIER or --sample N")
    if identifier is not None:
        _check_person_key(identifier)
    try:
        s = get_settings()
        reader = _reader(s)
        if sample is not None:
            rows = reader.query(_SAMPLE_PERSONS, {"n": sample})
            if not rows:
                _fail("no stitched person has converted after touches in two channel families yet")
            for r in rows:
                click.echo(f"{r['identifier']:<40} {r['families']} families, {r['conversions']} conversions")
            return
        assert identifier is not None
        key = identifier_key(identifier, s.pepper())
        if not exists(reader, key):
            raise UnknownPerson(identifier)
        click.echo(explain(reader, key))
    except ParcoursError as err:
        _fail(str(err))


_SAMPLE_PERSONS = (
    "SELECT any(primary_identifier) AS identifier, uniqExact(channel) AS families, countIf(is_conversion = 1) "
    "AS conversions FROM events_stitched WHERE person_id != '' AND primary_identifier != '' GROUP BY person_id "
    "HAVING families >= 2 AND conversions >= 1 ORDER BY families DESC, conversions DESC, identifier LIMIT {n:UInt32}"
)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
