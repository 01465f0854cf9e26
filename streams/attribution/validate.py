"""``parcours attribution validate``: how far each model's credits are from the truth.

The truth is each channel's *incremental* effect: the simulator runs the same population
(same random draws) once with everything on and once with each channel switched off; the
conversions lost when a channel is off are what it caused. Models see only the full run's
events, through the pipeline's own normalize → stitch → journeys code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta

from streams.attribution.batch import data_driven_totals
from streams.attribution.offline import run_offline
from streams.attribution.rules import RULE_MODELS, attribute_journey
from streams.settings import Settings
from streams.simulate import SimConfig, simulate
from streams.simulate.builder import DAILY

GROUPS = {
    "web/paid-search": "paid_search",
    "web/email": "email",
    "web/organic-search": "organic",
    "direct": "direct",
    "tv/second-screen": "tv",
    "store/visit": "store_visit",
    "store/fitting-room": "fitting_room",
}


def group_of(channel: str) -> str | None:
    if channel.startswith("social/"):
        return "social"
    return GROUPS.get(channel)


@dataclass(frozen=True)
class Validation:
    persons: int
    seed: int
    conversions: int
    true_share: dict[str, float]
    model_share: dict[str, dict[str, float]]
    error: dict[str, float]  # total variation distance to the truth, 0 (perfect) … 1

    def table(self) -> str:
        groups = sorted(self.true_share)
        models = sorted(self.error, key=self.error.get)  # type: ignore[arg-type]
        w = max(len(m) for m in [*models, "model"])
        head = f"{'model':<{w}}  {'error':>6}  " + "  ".join(f"{g[:12]:>12}" for g in groups)
        lines = [f"{'truth':<{w}}  {'':>6}  " + "  ".join(f"{self.true_share[g]:>12.3f}" for g in groups), head]
        for m in models:
            lines.append(
                f"{m:<{w}}  {self.error[m]:>6.3f}  "
                + "  ".join(f"{self.model_share[m].get(g, 0.0):>12.3f}" for g in groups)
            )
        return "\n".join(lines)


def _shares(credit: dict[str, float]) -> dict[str, float]:
    total = sum(credit.values())
    return {g: v / total for g, v in credit.items()} if total else {}


def validate(*, persons: int = 3000, days: int = 14, seed: int = 42, settings: Settings | None = None) -> Validation:
    settings = settings or Settings()
    cfg = SimConfig(
        persons=persons,
        days=days,
        seed=seed,
        invalid_share=0.0,
        duplicate_share=0.0,
        late_share=0.0,
        pepper=settings.pepper(),
    )
    full = simulate(cfg)
    lost = {
        ch: full.truth.conversions - simulate(replace(cfg, disabled=frozenset({ch}))).truth.conversions for ch in DAILY
    }
    true_share = _shares({ch: max(0.0, float(v)) for ch, v in lost.items()})
    run = run_offline(((e.value, e.timestamp_ms) for e in full.emitted), settings)
    journeys = run.journeys(timedelta(days=settings.lookback_days))
    credit: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for j in journeys:
        if j.conversion is None:
            continue
        times = [t.time for t in j.touches]
        for model in RULE_MODELS:
            if model == "participation":
                continue
            for ch, w in attribute_journey(
                model, j.path, times, at=j.conversion.time, half_life=timedelta(days=settings.half_life_days)
            ).items():
                g = group_of(ch)
                if g:
                    credit[model][g] += w
    for model, chans in data_driven_totals(journeys).items():
        for ch, (c, _v) in chans.items():
            g = group_of(ch)
            if g:
                credit[model][g] += c
    model_share = {m: _shares(dict(c)) for m, c in credit.items()}
    error = {
        m: 0.5 * sum(abs(s.get(g, 0.0) - true_share.get(g, 0.0)) for g in set(s) | set(true_share))
        for m, s in model_share.items()
    }
    return Validation(persons, seed, full.truth.conversions, true_share, model_share, error)
