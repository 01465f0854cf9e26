"""The commands a user runs after ``make demo`` (README: After the demo), on a store the pipeline
filled: they print the answer, reconcile with what is stored, and refuse bad input in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from streams.attribution.batch import run_batch
from streams.backfill import backfill
from streams.settings import Settings
from streams.simulate import SimConfig, simulate
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate

PEPPER = "after-the-demo"
TRUTH: dict[str, int] = {}  # filled by the ``demo`` fixture from the simulation


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str, int]]:
    """A demo-like folder: ``data`` (the store) beside ``pii-pepper``; the week's bounds; conversions."""
    root = tmp_path_factory.mktemp("demo")
    (root / "pii-pepper").write_text(PEPPER)
    settings = Settings(data_dir=root / "data", pii_pepper=PEPPER)
    sim = simulate(SimConfig(persons=300, days=7, seed=3, pepper=PEPPER))
    end = sim.config.end_at()
    start = end - timedelta(days=7)
    ch = ChdbBackend(settings.chdb_path)
    try:
        migrate(ch)
        backfill(ch, settings, [(e.value, e.timestamp_ms) for e in sim.emitted])
        run_batch(ch, settings, start, end)
        [n] = ch.query(
            "SELECT count() AS n FROM events_dedup WHERE is_conversion = 1 AND event_time >= {lo:DateTime64(3, 'UTC')} "
            "AND event_time < {hi:DateTime64(3, 'UTC')}",
            {"lo": start.strftime("%Y-%m-%d %H:%M:%S"), "hi": end.strftime("%Y-%m-%d %H:%M:%S")},
        )
    finally:
        ch.close()
    # the simulator's truth for the week: conversions per type, and in-store sales that can be linked
    by_type: dict[str, set[str]] = {}
    for e in sim.emitted:
        if e.valid:
            doc = orjson.loads(e.value)
            if doc["type"] in ("order_completed", "pos_purchase"):
                by_type.setdefault(doc["type"], set()).add(doc["event_id"])
    TRUTH.update({t: len(ids) for t, ids in by_type.items()})
    TRUTH["linkable"] = int(sim.truth.in_store_linkage(start, end, crm=False)["linkable"])
    yield root / "data", start.isoformat(), end.isoformat(), int(n["n"])


def parcours(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _one_line_error(out: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert all(w in out.stderr for w in words), out.stderr


def test_attribution_show_prints_both_models_and_every_conversion(demo: tuple[Path, str, str, int]) -> None:
    data, since, until, conversions = demo
    out = parcours("--data-dir", str(data), "attribution", "show", "--since", since, "--until", until)
    assert out.returncode == 0, out.stderr
    assert "last touch conv" in out.stdout and "markov conv" in out.stdout
    assert f"{conversions:,} conversions" in out.stdout
    assert "Top converting paths:" in out.stdout and "Online against in-store:" in out.stdout
    doc = orjson.loads(
        parcours(
            "--data-dir", str(data), "attribution", "show", "--since", since, "--until", until, "--format", "json"
        ).stdout
    )
    assert round(sum(r.get("rule_conversions", 0.0) for r in doc["channels"])) == conversions
    linked = sum(r.get("rule_conversions", 0.0) for r in doc["channels"] if r["channel"] != "no linked touchpoint")
    markov = sum(r.get("data_driven_conversions", 0.0) for r in doc["channels"])
    assert doc["data_driven_found"] and markov == pytest.approx(linked, rel=1e-6)  # Markov shares the linked ones
    assert sum(w["conversions"] for w in doc["where"]) == conversions
    where = {w["type"]: w for w in doc["where"]}
    assert {t: where[t]["conversions"] for t in where} == {t: TRUTH[t] for t in where}  # the simulator's counts
    assert where["pos_purchase"]["with_touch"] <= TRUTH["linkable"]  # a sale no identifier reaches has no touch
    assert sum(p["conversions"] for p in doc["paths"]) <= linked  # the top paths are linked conversions
    csv = parcours(
        "--data-dir", str(data), "attribution", "show", "--since", since, "--until", until, "--format", "csv"
    )
    assert csv.stdout.splitlines()[0].startswith("channel,last_touch_conversions")


def test_a_range_never_run_is_named_with_the_command_to_run(demo: tuple[Path, str, str, int]) -> None:
    data, *_ = demo
    out = parcours("--data-dir", str(data), "attribution", "show", "--since", "2020-01-01", "--until", "2020-01-08")
    _one_line_error(out, 1, "no batch attribution", "parcours attribution run")


def test_sample_persons_can_be_looked_up(demo: tuple[Path, str, str, int]) -> None:
    data, *_ = demo
    out = parcours("--data-dir", str(data), "person", "--sample", "2")
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0].split()[0]
    assert len(out.stdout.splitlines()) == 2 and "families" in out.stdout
    shown = parcours("--data-dir", str(data), "person", first)
    assert shown.returncode == 0 and first in shown.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("attribution", "show", "--since", "2026-13-01", "--until", "2026-12-01"), 2, ("month must be in 1..12",)),
        (("attribution", "show", "--since", "2026-12-02", "--until", "2026-12-01"), 2, ("--until must be after",)),
        (("person", "anon:nobody-here"), 1, ("not found",)),
        (("person",), 2, ("IDENTIFIER or --sample",)),
        (("simulate", "--persons", "-5"), 2, ("--persons",)),
        (("--worker-url", "ftp://x", "summary"), 2, ("--worker-url",)),
        (("--worker-url", "http://127.0.0.1:99999", "summary"), 2, ("--worker-url",)),
        (("--worker-url", "http://127.0.0.1:1", "summary"), 1, ("no worker answers at http://127.0.0.1:1",)),
        (("dashboards", "preview", "--since", "yesterday", "--until", "today"), 2, ("use a date",)),
    ],
)
def test_bad_input_is_one_clear_line(
    demo: tuple[Path, str, str, int], args: tuple[str, ...], code: int, words: tuple[str, ...]
) -> None:
    data, *_ = demo
    _one_line_error(parcours("--data-dir", str(data), *args), code, *words)


def test_spend_in_a_channel_the_taxonomy_does_not_name_is_refused_with_the_names(
    demo: tuple[Path, str, str, int], tmp_path: Path
) -> None:
    data, *_ = demo
    spend = tmp_path / "spend.csv"
    spend.write_text("day,channel,campaign,amount,currency\n2026-11-24,paid_search,autumn,120,EUR\n")
    _one_line_error(
        parcours("--data-dir", str(data), "load", "spend", str(spend)), 1, "'paid_search'", "web/paid-search"
    )
    spend.write_text("day,channel,campaign,amount,currency\n2026-11-24,web/paid-search,autumn,120,EUR\n")
    ok = parcours("--data-dir", str(data), "load", "spend", str(spend))
    assert ok.returncode == 0 and "loaded 1 spend rows" in ok.stdout


def _readme_block() -> list[list[str]]:
    """The `parcours` lines of the README's "After the demo" block, as argument lists."""
    import shlex

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = text.split("<!-- after-the-demo:", 1)[1].split("```", 2)[1]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("parcours ")]


def test_the_readme_after_the_demo_block_runs_as_written(demo: tuple[Path, str, str, int]) -> None:
    data, *_ = demo
    commands = _readme_block()
    assert len(commands) >= 5
    for args in commands:
        args = [str(data) if a == "var/demo/data" else a for a in args]
        out = parcours(*args)
        assert out.returncode == 0, (args, out.stderr)
        assert out.stdout.strip() and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("summary",),
        ("attribution", "run", "--since", "2026-11-23", "--until", "2026-11-30"),
        ("dashboards", "preview", "--since", "2026-11-23", "--until", "2026-11-30"),
    ],
)
def test_a_reader_without_a_store_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    where = tmp_path / "nothing-here"
    out = parcours("--data-dir", str(where), *command)
    _one_line_error(out, 1, "no store at", str(where))
    assert not where.exists()


def test_dashboards_preview_names_what_it_cannot_show(demo: tuple[Path, str, str, int]) -> None:
    data, since, until, _ = demo
    unknown = parcours("--data-dir", str(data), "dashboards", "preview", "nope", "--since", since, "--until", until)
    assert unknown.returncode == 2 and "no dashboard nope; the dashboards are parcours-attribution" in unknown.stderr
    shown = parcours("--data-dir", str(data), "dashboards", "preview", "parcours-attribution", "--since", since,
                     "--until", until)  # fmt: skip
    assert shown.returncode == 0 and "times in UTC" in shown.stdout
    assert "($model)" not in shown.stdout and "return on spend (linear)" in shown.stdout  # as Grafana titles it
    assert ":36," not in shown.stdout  # hour buckets start on the hour (Grafana's rounded interval)


def test_a_path_table_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    table = tmp_path / "paths.csv"
    table.write_bytes(b"path,total_conversions\n\xff\xfe,3\n")
    _one_line_error(parcours("attribution", "paths", str(table)), 1, "not UTF-8 text")
    table.write_text("path,total_conversions\nweb > tv,nan\n")
    _one_line_error(parcours("attribution", "paths", str(table)), 1, "finite numbers")


def test_a_range_without_a_data_driven_run_leaves_its_cells_empty_and_says_so(
    demo: tuple[Path, str, str, int],
) -> None:
    data, since, *_ = demo
    # a day inside the week: rule credits exist per conversion, Markov totals only per run range
    day_end = (datetime.fromisoformat(since) + timedelta(days=1)).isoformat()
    out = parcours(
        "--data-dir", str(data), "attribution", "show", "--since", since, "--until", day_end, "--format", "csv"
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.splitlines()[1:]]
    assert rows and all(r[3] == r[4] == "" for r in rows)
    assert "no markov figures" in out.stderr


def test_broken_spend_files_are_one_line_each(demo: tuple[Path, str, str, int], tmp_path: Path) -> None:
    data, *_ = demo
    short = tmp_path / "short.csv"
    short.write_text("day,channel,campaign,amount,currency\n2026-11-23,web/email\n")
    _one_line_error(parcours("--data-dir", str(data), "load", "spend", str(short)), 1, "short.csv:2")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"day,channel\n\xff\xfe\n")
    _one_line_error(parcours("--data-dir", str(data), "load", "spend", str(binary)), 1, "not UTF-8 text")


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ("2026-11-23,web/email,w,nan,EUR", "must be a finite number"),
        ("2026-11-23,web/email,w,-500,EUR", "not negative"),
        ("2026-11-23,web/email,w,100,JPY", "dashboards report in EUR"),
        ("2026-11-31,web/email,w,100,EUR", "day '2026-11-31' is not a date"),
        ("2026-11-23,web/email,w,lots,EUR", "amount 'lots' is not a number"),
        ("", "no spend rows after the header"),
    ],
)
def test_spend_the_dashboards_would_misreport_is_refused_and_nothing_is_loaded(
    demo: tuple[Path, str, str, int], tmp_path: Path, rows: str, says: str
) -> None:
    """Each bad row once loaded as a number on the return-on-spend panel (NaN as 0, yen summed
    as euros); a refused file now loads none of its rows."""
    data, *_ = demo
    before = parcours("--data-dir", str(data), "sql", "SELECT count() AS n FROM spend")
    spend = tmp_path / "spend.csv"
    good = "2026-11-24,web/email,w,10,EUR\n" if rows else ""  # a good row first: loaded only with the file
    spend.write_text("day,channel,campaign,amount,currency\n" + good + rows + "\n")
    _one_line_error(parcours("--data-dir", str(data), "load", "spend", str(spend)), 1, says)
    assert parcours("--data-dir", str(data), "sql", "SELECT count() AS n FROM spend").stdout == before.stdout
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("date,channel,cost\n2026-11-24,web/email,10\n")
    _one_line_error(parcours("--data-dir", str(data), "load", "spend", str(nocols)), 1, "missing column amount, day")


def test_forget_waits_no_longer_than_its_timeout_for_kafka(demo: tuple[Path, str, str, int]) -> None:
    """kafka-python waits 30 s to bootstrap whatever the caller was told: ``--timeout`` bounds it."""
    import json
    import time

    data, *_ = demo
    [row] = [json.loads(x) for x in parcours("--data-dir", str(data), "sql", _ONE_COOKIE).stdout.splitlines()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--data-dir", str(data), "forget", row["i"], "--timeout", "3"],
        env={**env, "PARCOURS_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - t0 < 15
    _one_line_error(out, 1, "Kafka")


_ONE_COOKIE = "SELECT identifier AS i FROM identity_map WHERE identifier LIKE 'anon:%' LIMIT 1"
