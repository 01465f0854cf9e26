"""Reference data and migrations while a worker owns the embedded store: ``load`` goes through the
worker (named by --worker-url, or found on the configured port), ``migrate`` and a --data-dir
pointed at the owned store say to stop the worker first, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SPEND = REPO / "dashboards" / "spend.example.csv"
COMMUNITY = REPO / "dashboards" / "community.example.json"


def _one_line(out: object, code: int, *words: str) -> None:
    text = out.stdout + out.stderr  # type: ignore[attr-defined]
    assert out.returncode == code, text  # type: ignore[attr-defined]
    assert "Traceback" not in text and all(w in out.stderr for w in words), out.stderr  # type: ignore[attr-defined]
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # type: ignore[attr-defined]


def test_load_goes_through_the_worker_that_owns_the_store(stack: Stack) -> None:
    rows = sum(1 for line in SPEND.read_text().splitlines()[1:] if line.strip())
    url = f"http://127.0.0.1:{stack.settings.web_port}"
    before = int(stack.rows("SELECT count() AS n FROM spend")[0]["n"])  # type: ignore[call-overload]
    named = stack.cli("--worker-url", url, "load", "spend", str(SPEND))
    assert named.returncode == 0 and named.stdout.strip() == f"loaded {rows} spend rows", named.stderr
    found = stack.cli("load", "spend", str(SPEND))  # no option: the worker on the configured port
    assert found.returncode == 0, found.stderr
    assert int(stack.rows("SELECT count() AS n FROM spend")[0]["n"]) == before + 2 * rows  # type: ignore[call-overload]
    community = stack.cli("--worker-url", url, "load", "community", str(COMMUNITY))
    assert community.returncode == 0 and community.stdout.startswith("loaded "), community.stderr
    assert stack.rows("SELECT count() AS n FROM objectives")[0]["n"] > 0


def test_bad_reference_data_is_refused_by_the_worker_in_one_line(stack: Stack, tmp_path: Path) -> None:
    bad = tmp_path / "spend.csv"
    bad.write_text("day,channel,campaign,amount,currency\n2026-11-24,paid_search,x,10,EUR\n")
    _one_line(stack.cli("load", "spend", str(bad)), 1, "'paid_search' is not a touchpoint channel", "web/paid-search")
    broken = tmp_path / "community.json"
    broken.write_text('{"objectives": [{"objective": "vanity", "target": 1}]}')
    _one_line(stack.cli("load", "community", str(broken)), 1, "objective")


def test_migrate_and_a_data_dir_owned_by_a_worker_say_to_stop_it_first(stack: Stack) -> None:
    _one_line(stack.cli("migrate"), 1, "owns the embedded store", "stop the worker first")
    data = str(stack.settings.data_dir)
    _one_line(stack.cli("--data-dir", data, "migrate"), 1, "stop the worker first or go through it (--worker-url)")
    _one_line(
        stack.cli("--data-dir", data, "load", "spend", str(SPEND)),
        1,
        "stop the worker first or go through it (--worker-url)",
    )


def test_serving_or_previewing_an_owned_store_and_a_wrong_token_are_one_line(stack: Stack) -> None:
    data = str(stack.settings.data_dir)
    _one_line(stack.cli("--data-dir", data, "store", "serve", "--port", "0"), 1, "open in another process")
    week = ("--since", "2026-03-01", "--until", "2026-03-08")
    _one_line(stack.cli("--data-dir", data, "dashboards", "preview", *week), 1, "open in another process")
    url = f"http://127.0.0.1:{stack.settings.web_port}"
    env = {**stack.worker.env, "PARCOURS_ADMIN_TOKEN": "not-the-token"}
    wrong = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--worker-url", url, "dashboards", "preview", *week],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _one_line(wrong, 1, "wrong admin token")
