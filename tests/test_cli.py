"""The CLI's refusals: one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``parcours <args>`` in a fresh process, with no PARCOURS_* setting but ``env``'s."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_a_worker_without_a_pepper_refuses_to_start(tmp_path: Path) -> None:
    out = run("worker", env={"PARCOURS_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode != 0
    assert "PARCOURS_PII_PEPPER" in out.stderr and "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_device_list_that_is_not_text_is_refused_in_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "devices.csv"
    binary.write_bytes(b"device_id\n\xd0\x00\xff\xfe kiosk\n")
    out = run("load", "devices", str(binary), env={"PARCOURS_PII_PEPPER": "p"}, cwd=tmp_path)
    assert out.returncode != 0 and "not a CSV of device ids" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout and len(out.stderr.strip().splitlines()) == 1


def test_validate_with_too_few_conversions_says_so(tmp_path: Path) -> None:
    out = run(
        "attribution", "validate", "--persons", "1", "--days", "1", env={"PARCOURS_PII_PEPPER": "p"}, cwd=tmp_path
    )
    assert out.returncode == 1 and "too few to tell the models apart" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout and len(out.stderr.strip().splitlines()) == 1


def test_a_pepper_file_that_is_missing_is_one_line(tmp_path: Path) -> None:
    out = run("summary", env={"PARCOURS_PII_PEPPER_FILE": str(tmp_path / "missing")}, cwd=tmp_path)
    assert out.returncode == 2 and "PARCOURS_PII_PEPPER_FILE" in out.stderr and "No such file" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout and len(out.stderr.strip().splitlines()) == 1


def test_publish_without_a_pepper_is_one_line(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"type": "page_view"}\n')
    out = run("publish", str(events), cwd=tmp_path)
    assert out.returncode == 1 and "PARCOURS_PII_PEPPER" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout and len(out.stderr.strip().splitlines()) == 1


def test_an_empty_file_is_not_published_as_a_success(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    out = run("publish", str(empty))
    assert out.returncode == 1 and "no events" in out.stderr and "Traceback" not in out.stderr


def test_an_empty_pepper_file_variable_is_unset_not_a_directory(tmp_path: Path) -> None:
    events = tmp_path / "x.jsonl"
    events.write_text('{"type": "page_view"}\n')
    out = run("publish", str(events), env={"PARCOURS_PII_PEPPER_FILE": ""})
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "is not set" in out.stderr and "Is a directory" not in out.stderr, out.stderr
