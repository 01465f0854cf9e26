"""``python -m bench [name ...]``: run the benchmarks (all by default), print the figures and
write them to bench/results/<name>.json with the machine's description."""

from __future__ import annotations

import json
import sys
import time

from bench.common import write


def main(argv: list[str]) -> int:
    from bench import attribution, dashboards, inserts, native, pipeline, scaleout

    suites = {
        "attribution": lambda: attribution.run(),
        "dashboards": lambda: dashboards.run(),
        "inserts": lambda: inserts.run(),
        "native": lambda: native.run(),
        "pipeline": lambda: pipeline.pipeline(1_000_000),
        "scaleout": lambda: scaleout.run(100_000),
    }
    chosen = argv or list(suites)
    started = time.monotonic()
    for name in chosen:
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        result = suites[name]()
        result["wall_seconds"] = time.monotonic() - t0
        path = write(name, result)
        print(json.dumps(result, indent=2, default=str)[:4000], flush=True)
        print(f"-> {path} ({result['wall_seconds']:.0f} s)", flush=True)
    print(f"all benchmarks: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
