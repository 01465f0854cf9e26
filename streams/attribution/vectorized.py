"""Rule-based channel totals over many journeys at once (numpy), for batch runs and
benchmarks: the same weights as ``rules.attribute_journey``, computed per touch position for
all journeys in a few array operations.

Journeys come flattened: for touch ``k``, ``journey[k]`` (its conversion), ``channel[k]``
(an index into ``channels``), ``pos[k]`` (0-based position), ``age_days[k]`` (conversion time
minus touch time, days); per conversion, ``length[j]`` and ``value[j]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.attribution.rules import DIRECT

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741


@dataclass(frozen=True)
class FlatJourneys:
    channels: Sequence[str]
    journey: I
    channel: I
    pos: I
    age_days: F
    length: I
    value: F

    @classmethod
    def from_paths(
        cls, paths: Sequence[Sequence[str]], ages: Sequence[Sequence[float]], values: Sequence[float]
    ) -> FlatJourneys:
        names = sorted({c for p in paths for c in p})
        index = {c: i for i, c in enumerate(names)}
        lengths = np.fromiter((len(p) for p in paths), dtype=np.int64, count=len(paths))
        journey = np.repeat(np.arange(len(paths), dtype=np.int64), lengths)
        channel = np.fromiter((index[c] for p in paths for c in p), dtype=np.int64, count=int(lengths.sum()))
        starts = np.cumsum(lengths) - lengths
        pos = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts, lengths)
        age = np.fromiter((a for ag in ages for a in ag), dtype=np.float64, count=int(lengths.sum()))
        return cls(names, journey, channel, pos, age, lengths, np.asarray(values, dtype=np.float64))


def _ends(f: FlatJourneys, first: float, last: float) -> F:
    n = f.length[f.journey].astype(np.float64)
    w = np.where(f.pos == 0, first, np.where(f.pos == n - 1, last, (1.0 - first - last) / np.maximum(n - 2, 1)))
    w = np.where(n == 2, np.where(f.pos == 0, first / (first + last), last / (first + last)), w)
    return np.where(n == 1, 1.0, w)


def _indicator(mask: npt.NDArray[np.bool_]) -> F:
    return np.asarray(mask, dtype=np.float64)


def touch_weights(f: FlatJourneys, model: str, *, half_life_days: float = 7.0) -> F:
    n = f.length[f.journey]
    if model == "first_touch":
        return _indicator(f.pos == 0)
    if model == "last_touch":
        return _indicator(f.pos == n - 1)
    if model == "linear":
        return 1.0 / n
    if model == "position_based":
        return _ends(f, 0.4, 0.4)
    if model == "j_curve":
        return _ends(f, 0.2, 0.6)
    if model == "inverse_j":
        return _ends(f, 0.6, 0.2)
    if model == "time_decay":
        raw = np.exp2(-f.age_days / half_life_days)
        return raw / np.bincount(f.journey, weights=raw, minlength=len(f.length))[f.journey]
    if model == "last_non_direct":
        direct = [i for i, c in enumerate(f.channels) if c == DIRECT]
        non_direct = f.channel != (direct[0] if direct else -1)
        # the last non-direct position per journey, or the last position when all are direct
        score = np.where(non_direct, f.pos, -1)
        best = np.full(len(f.length), -1, dtype=np.int64)
        np.maximum.at(best, f.journey, score)
        target = np.where(best[f.journey] >= 0, best[f.journey], n - 1)
        return _indicator(f.pos == target)
    if model == "participation":
        key = f.journey * len(f.channels) + f.channel
        _, first = np.unique(key, return_index=True)
        w = np.zeros(len(key))
        w[first] = 1.0
        return w
    raise ValueError(f"unknown rule-based model {model!r}")


def channel_totals(f: FlatJourneys, model: str, *, half_life_days: float = 7.0) -> dict[str, tuple[float, float]]:
    w = touch_weights(f, model, half_life_days=half_life_days)
    conv = np.bincount(f.channel, weights=w, minlength=len(f.channels))
    val = np.bincount(f.channel, weights=w * f.value[f.journey], minlength=len(f.channels))
    return {c: (float(conv[i]), float(val[i])) for i, c in enumerate(f.channels)}
