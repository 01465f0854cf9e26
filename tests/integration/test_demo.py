"""``parcours demo`` as ``make demo`` runs it, on a small population: it ends with the answer, and
``--keep`` says where the worker and the broker answer and how to stop them, and that is true."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import run

pytestmark = pytest.mark.integration


def parcours(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(*args, env=env, timeout=600)


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

        def preview(uid: str, span: re.Match[str] | None, *more: str) -> str:
            assert span, out.stdout
            shown = parcours("--worker-url", url[1], "dashboards", "preview", uid, *more, "--since", span[1],
                             "--until", span[2], env=env)  # fmt: skip
            assert shown.returncode == 0, shown.stderr
            return shown.stdout

        # the pipeline-health hint: arrival times, so the publishing minutes, not the simulated week
        health = preview(
            "parcours-health", re.search(r"preview parcours-health --since (\S+) --until (\S+)`", out.stdout)
        )
        assert re.search(r"Events stored per channel per minute \([1-9]\d* rows\)", health), health
        # the community's objectives were loaded: attainment is read against a target
        week = re.search(r"attribution show --since (\S+) --until (\S+)`", out.stdout)
        community = preview("parcours-community", week)
        assert re.search(r"objective=traffic, actual=\d+, target=2000(\.0)?, attainment=0\.\d", community), community
        # paid search's spend was loaded beside TV's and paid social's: return on spend for each
        growth = preview("parcours-attribution", week, "--rows", "20")
        for channel in ("web/paid-search", "tv/second-screen"):
            assert re.search(rf"channel={channel}, spend=[\d.]+, .*roas=\d", growth), growth
        gone = parcours("--worker-url", url[1], "forget", "email:nobody@example.com", env=env)
        assert gone.returncode == 1 and "not found" in gone.stderr, gone.stdout + gone.stderr
    finally:
        broker = (root / "kafka" / "broker.pid").read_text().strip()
        if stop:  # the printed line, as a user pastes it
            try:
                subprocess.run(["bash", "-c", stop[1]], check=False, timeout=180)
            except subprocess.TimeoutExpired:
                subprocess.run(["kill", "-9", stop[2]], check=False)
                subprocess.run(["kill", "-9", broker], check=False)
                raise AssertionError(f"the printed stop line did not end in 180 s: {stop[1]}") from None
    assert stop
    for pid in (stop[2], broker):  # the worker and the broker are gone (or a zombie no one reaps)
        stat = subprocess.run(["ps", "-o", "stat=", "-p", pid], capture_output=True, text=True).stdout.strip()
        assert stat in ("", "Z") or stat.startswith("Z"), (pid, stat)
    # the hints name the running worker, not the store it owns
    assert f"--data-dir {root}" not in out.stdout.split("After the demo", 1)[1]
