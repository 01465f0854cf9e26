"""``python -m bench.native``: the native module's hand-written readers against crates doing the
same work on the same bytes, side by side in one run (``bench/native``, a Rust program): Kafka
record sets (``records.rs`` against kafka-protocol's decoder) and JSON (``json.rs`` against
simd-json's borrowed values), on the simulated corpus. Figures: docs/decisions/native-decoder.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from bench.common import corpus

CRATE = Path(__file__).resolve().parent / "native"


def run(n: int = 200_000) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYO3_PYTHON": sys.executable,
        "LD_LIBRARY_PATH": str(sysconfig.get_config_var("LIBDIR")),
    }
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=CRATE, env=env, check=True)
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as f:
        f.write(b"\n".join(corpus(n)))
        f.flush()
        out = subprocess.run(
            [str(CRATE / "target" / "release" / "parcours-native-compare"), f.name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
