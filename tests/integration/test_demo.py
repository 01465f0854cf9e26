"""``parcours demo`` as ``make demo`` runs it, on a small population: it ends with the answer, and
``--keep`` says where the worker and the broker answer and how to stop them, and that is true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def parcours(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_demo_ends_with_the_answer_and_keep_says_how_to_reach_and_stop_what_it_left(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    out = parcours("demo", "--persons", "300", "--dir", str(root), "--keep")
    stop = re.search(r"stop +(kill (\d+); .*)$", out.stdout, re.M)
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Traceback" not in out.stdout + out.stderr and "publishing:" not in out.stderr  # no bar off a terminal
        conversions = int(re.search(r"ground truth: (\d+) conversions", out.stdout)[1])  # type: ignore[index]
        assert f"{conversions:,} conversions" in out.stdout  # the answer counts every conversion
        for part in ("last touch conv", "markov conv", "Top converting paths:", "Online against in-store:"):
            assert part in out.stdout
        url = re.search(r"then +parcours --worker-url (\S+) summary", out.stdout)
        settings = re.search(r"export PARCOURS_ADMIN_TOKEN=(\S+) PARCOURS_PII_PEPPER_FILE=(\S+) ", out.stdout)
        assert url and settings and stop, out.stdout
        env = {"PARCOURS_ADMIN_TOKEN": settings[1], "PARCOURS_PII_PEPPER_FILE": settings[2]}
        summary = parcours("--worker-url", url[1], "summary", env=env)
        assert summary.returncode == 0, summary.stderr
        assert "Events per channel:" in summary.stdout
        # the pipeline-health hint: arrival times, so the publishing minutes, not the simulated week
        health = re.search(r"dashboards preview parcours-health --since (\S+) --until (\S+)`", out.stdout)
        assert health, out.stdout
        preview = parcours(
            "--worker-url", url[1], "dashboards", "preview", "parcours-health", "--since", health[1], "--until",
            health[2], env=env,
        )  # fmt: skip
        assert preview.returncode == 0, preview.stderr
        assert re.search(r"Events stored per channel per minute \([1-9]\d* rows\)", preview.stdout), preview.stdout
        # the community's objectives were loaded: attainment is read against a target
        week = re.search(r"attribution show --since (\S+) --until (\S+)`", out.stdout)
        assert week, out.stdout
        community = parcours(
            "--worker-url", url[1], "dashboards", "preview", "parcours-community", "--since", week[1], "--until",
            week[2], env=env,
        )  # fmt: skip
        assert re.search(r"objective=traffic, actual=\d+, target=2000(\.0)?, attainment=0\.\d", community.stdout), (
            community.stdout + community.stderr
        )
        # paid search's spend was loaded beside TV's and paid social's: return on spend for each
        growth = parcours(
            "--worker-url", url[1], "dashboards", "preview", "parcours-attribution", "--rows", "20", "--since",
            week[1], "--until", week[2], env=env,
        )  # fmt: skip
        for channel in ("web/paid-search", "tv/second-screen"):
            assert re.search(rf"channel={channel}, spend=[\d.]+, .*roas=\d", growth.stdout), growth.stdout
        gone = parcours("--worker-url", url[1], "forget", "email:nobody@example.com", env=env)
        assert gone.returncode == 1 and "not found" in gone.stderr, gone.stdout + gone.stderr
    finally:
        broker = (root / "kafka" / "broker.pid").read_text().strip()
        if stop:  # the printed line, as a user pastes it
            subprocess.run(["bash", "-c", stop[1]], check=False, timeout=180)
    assert stop
    for pid in (stop[2], broker):  # the worker and the broker are gone
        assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0, pid
    # the hints name the running worker, not the store it owns
    assert f"--data-dir {root}" not in out.stdout.split("After the demo", 1)[1]
