"""Rule-based models: each turns one journey into channel weights that sum to 1
(participation excepted: every channel present gets 1, so its totals are not conserved).

Weights are given per touch position and then summed per channel, so repeated channels
accumulate their positions' weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

NO_TOUCH = "no linked touchpoint"  # a conversion none of whose window's touches is linked to its buyer
DIRECT = "direct"

Weights = list[float]


def _first(n: int, **_: object) -> Weights:
    return [1.0] + [0.0] * (n - 1)


def _last(n: int, **_: object) -> Weights:
    return [0.0] * (n - 1) + [1.0]


def _linear(n: int, **_: object) -> Weights:
    return [1.0 / n] * n


def _ends(first: float, last: float) -> Callable[..., Weights]:
    """Position-based family: ``first`` and ``last`` shares, the rest split over the middle.
    With two touches the two ends share everything in the ratio first:last."""

    def weights(n: int, **_: object) -> Weights:
        if n == 1:
            return [1.0]
        if n == 2:
            return [first / (first + last), last / (first + last)]
        middle = (1.0 - first - last) / (n - 2)
        return [first] + [middle] * (n - 2) + [last]

    return weights


def _time_decay(n: int, *, times: Sequence[datetime], at: datetime, half_life: timedelta, **_: object) -> Weights:
    raw = [2.0 ** (-((at - t) / half_life)) for t in times]
    total = sum(raw)
    return [w / total for w in raw]


POSITION_WEIGHTS: dict[str, Callable[..., Weights]] = {
    "first_touch": _first,
    "last_touch": _last,
    "linear": _linear,
    "position_based": _ends(0.4, 0.4),
    "time_decay": _time_decay,
    "j_curve": _ends(0.2, 0.6),
    "inverse_j": _ends(0.6, 0.2),
}
RULE_MODELS = (*POSITION_WEIGHTS, "last_non_direct", "participation")
CONSERVED = frozenset(RULE_MODELS) - {"participation"}


def attribute_journey(
    model: str,
    channels: Sequence[str],
    times: Sequence[datetime] = (),
    *,
    at: datetime | None = None,
    half_life: timedelta = timedelta(days=7),
) -> dict[str, float]:
    """Credit per channel for one conversion (sums to 1 except participation)."""
    n = len(channels)
    if n == 0:
        return {NO_TOUCH: 1.0}
    if model == "participation":
        return dict.fromkeys(channels, 1.0)
    if model == "last_non_direct":
        for ch in reversed(channels):
            if ch != DIRECT:
                return {ch: 1.0}
        return {DIRECT: 1.0}
    try:
        fn = POSITION_WEIGHTS[model]
    except KeyError:
        raise ValueError(f"unknown rule-based model {model!r}; choose from {', '.join(RULE_MODELS)}") from None
    if model == "time_decay" and (len(times) != n or at is None):
        raise ValueError("time_decay needs a time per touch and the conversion time")
    out: dict[str, float] = {}
    for ch, w in zip(channels, fn(n, times=times, at=at, half_life=half_life), strict=True):
        out[ch] = out.get(ch, 0.0) + w
    return out
