"""Rule-based models over 1,000,000 conversions; exact Markov on a 1,000,000-path table, side
by side with the channelattribution package (flg_pro=False) on the same table."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from bench.common import Timer, median_of
from streams.attribution.markov import markov_attribution
from streams.attribution.rules import RULE_MODELS
from streams.attribution.vectorized import FlatJourneys, channel_totals

CHANNELS = [
    "direct",
    "web/paid-search",
    "web/email",
    "web/organic-search",
    "social/instagram/organic",
    "tv/second-screen",
    "store/visit",
    "store/fitting-room",
]


def journeys(n: int, seed: int = 1) -> FlatJourneys:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, size=n)
    total = int(lengths.sum())
    journey = np.repeat(np.arange(n), lengths)
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(total) - np.repeat(starts, lengths)
    channel = rng.integers(0, len(CHANNELS), size=total)
    age = np.sort(rng.uniform(0, 30, size=total))[::-1].copy()
    return FlatJourneys(
        sorted(CHANNELS),
        journey.astype(np.int64),
        channel.astype(np.int64),
        pos.astype(np.int64),
        age,
        lengths.astype(np.int64),
        rng.uniform(10, 300, size=n),
    )


def path_table(n: int, seed: int = 2) -> list[tuple[tuple[str, ...], float, float, float]]:
    """``n`` distinct paths (length 1–10 over 8 channels) with conversions, value and nulls."""
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    rows: list[tuple[tuple[str, ...], float, float, float]] = []
    while len(rows) < n:
        p = tuple(rng.choice(CHANNELS) for _ in range(rng.randint(1, 10)))
        if p in seen:
            continue
        seen.add(p)
        conv = float(rng.randint(0, 5))
        rows.append((p, conv, conv * rng.uniform(20, 200), float(rng.randint(0, 20))))
    return rows


def run(n_conversions: int = 1_000_000, n_paths: int = 1_000_000) -> dict[str, Any]:
    out: dict[str, Any] = {}
    flat = journeys(n_conversions)
    per_model = {}
    for model in RULE_MODELS:

        def once(m: str = model) -> float:
            return _timed(lambda: channel_totals(flat, m))

        secs, _ = median_of(once, 3)
        per_model[model] = secs
    out["rule_based"] = {
        "conversions": n_conversions,
        "touches": int(flat.length.sum()),
        "seconds_per_model_median": per_model,
        "seconds_all_models": sum(per_model.values()),
    }
    table = path_table(n_paths)
    secs, runs = median_of(lambda: _timed(lambda: markov_attribution(table)), 3)
    ours = markov_attribution(table)
    out["markov"] = {
        "paths": n_paths,
        "seconds_median": secs,
        "runs": runs,
        "removal_effects": ours.removal_effects,
        "conversions": ours.conversions,
    }
    try:
        import pandas as pd
        from ChannelAttribution import markov_model
    except ImportError as err:
        out["channelattribution"] = {"skipped": f"not installed: {err}"}
        return out
    df = pd.DataFrame(
        {
            "path": [" > ".join(p) for p, *_ in table],
            "total_conversions": [c for _, c, _, _ in table],
            "total_conversion_value": [v for _, _, v, _ in table],
            "total_null": [x for *_, x in table],
        }
    )

    def theirs() -> Any:
        return markov_model(
            df,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=1,
            sep=">",
            flg_pro=False,
            verbose=0,
            out_more=True,
        )

    secs_ca, runs_ca = median_of(lambda: _timed(theirs), 3)
    res = theirs()
    re = res["removal_effects"] if isinstance(res, dict) else None
    ca_conv = {}
    if isinstance(res, dict) and "result" in res:
        r = res["result"]
        ca_conv = dict(zip(r["channel_name"], r["total_conversions"], strict=True))
    out["channelattribution"] = {
        "seconds_median": secs_ca,
        "runs": runs_ca,
        "speedup_ours_vs_theirs": secs_ca / secs,
        "conversions": ca_conv,
        "removal_effects": dict(zip(re["channel_name"], re["removal_effects_conversion"], strict=True))
        if re is not None
        else None,
        "max_abs_diff_conversions": max((abs(ca_conv[c] - ours.conversions[c]) for c in ca_conv), default=None),
        "note": "channelattribution's markov_model estimates removal effects by simulation; ours solves the "
        "absorbing chain exactly",
    }
    return out


def _timed(fn: Any) -> float:
    with Timer() as t:
        fn()
    return t.seconds
