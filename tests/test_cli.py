"""The CLI's refusals: one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_a_worker_without_a_pepper_refuses_to_start(tmp_path: Path) -> None:
    out = run("worker", env={"PARCOURS_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode != 0
    assert "PARCOURS_PII_PEPPER" in out.stderr and "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) == 1
