"""Markov-chain attribution, solved exactly as an absorbing chain (no simulation).

States are the last ``order`` channels (order 1: the channel itself), plus start,
conversion and null. From path counts we estimate transition probabilities, then the
probability of reaching conversion from start by solving the linear system
``(I − Q) x = r`` (Q: transient→transient, r: transient→conversion). The removal effect of
a channel is the relative drop of that probability when every state holding the channel
leads to null instead. Credits are removal effects normalised to the totals.

Self-loops do not change absorption probabilities (a state that loops on itself leaves it
with the same conditional distribution), so repeated channels need no special handling.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

START, CONV, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True, slots=True)
class MarkovResult:
    conversion_probability: float
    removal_effects: dict[str, float]
    conversions: dict[str, float]
    value: dict[str, float]


def _states(path: tuple[str, ...], order: int) -> list[tuple[str, ...]]:
    return [tuple(path[max(0, i - order + 1) : i + 1]) for i in range(len(path))]


def markov_attribution(paths: Iterable[tuple[tuple[str, ...], float, float, float]], *, order: int = 1) -> MarkovResult:
    """paths: (channels, conversions, value, nulls) rows, as in a path table."""
    if order < 1:
        raise ValueError("order must be ≥ 1")
    counts: dict[tuple[str, ...] | str, dict[tuple[str, ...] | str, float]] = defaultdict(lambda: defaultdict(float))
    total_conv = total_value = 0.0
    channels: set[str] = set()
    for path, conv, value, nulls in paths:
        total_conv += conv
        total_value += value
        if not path:
            continue
        channels.update(path)
        weight = conv + nulls
        if weight <= 0:
            continue
        states = _states(path, order)
        prev: tuple[str, ...] | str = START
        for s in states:
            counts[prev][s] += weight
            prev = s
        if conv:
            counts[prev][CONV] += conv
        if nulls:
            counts[prev][NULL] += nulls
    transient = [s for s in counts if s != START]
    index = {s: i + 1 for i, s in enumerate(transient)}  # 0 is START
    n = len(transient) + 1
    q = np.zeros((n, n))
    r = np.zeros(n)
    for src, outs in counts.items():
        i = 0 if src == START else index[src]
        tot = sum(outs.values())
        for dst, c in outs.items():
            if dst == CONV:
                r[i] += c / tot
            elif dst != NULL:
                q[i, index[dst]] += c / tot

    def p_conv(removed: str | None) -> float:
        qq, rr = q, r
        if removed is not None:
            dead = [index[s] for s in transient if isinstance(s, tuple) and removed in s]
            qq, rr = q.copy(), r.copy()
            qq[dead, :] = 0.0
            rr[dead] = 0.0
            qq[:, dead] = 0.0  # entering a removed state is going to null
        x = np.linalg.solve(np.eye(n) - qq, rr)
        return float(x[0])

    base = p_conv(None) if counts else 0.0
    effects = {c: (1.0 - p_conv(c) / base) if base > 0 else 0.0 for c in sorted(channels)}
    total_effect = sum(effects.values())
    share = {c: (e / total_effect if total_effect > 0 else 0.0) for c, e in effects.items()}
    return MarkovResult(
        conversion_probability=base,
        removal_effects=effects,
        conversions={c: s * total_conv for c, s in share.items()},
        value={c: s * total_value for c, s in share.items()},
    )
