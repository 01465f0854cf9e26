"""Shapley-value attribution after Zhao et al. (2018), "Shapley Value Methods for Attribution
Modeling in Online Advertising".

Simplified Shapley: with the characteristic function "conversions of journeys whose channel
set is exactly S", the Shapley value reduces to splitting each converting journey's
conversion equally over its distinct channels.

Ordered Shapley: the same split, but credited to (channel, position of the channel's first
appearance), so the order in which channels join a journey is kept; summing positions gives
the simplified values per channel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def _distinct(path: tuple[str, ...]) -> list[str]:
    seen: dict[str, None] = {}
    for ch in path:
        seen.setdefault(ch, None)
    return list(seen)


def shapley_simplified(
    paths: Iterable[tuple[tuple[str, ...], float, float]],
) -> tuple[dict[str, float], dict[str, float]]:
    """paths: (channels, conversions, value). Returns (conversions, value) per channel."""
    conv: dict[str, float] = defaultdict(float)
    val: dict[str, float] = defaultdict(float)
    for path, c, v in paths:
        chans = _distinct(path)
        if not chans or (c == 0 and v == 0):
            continue
        for ch in chans:
            conv[ch] += c / len(chans)
            val[ch] += v / len(chans)
    return dict(conv), dict(val)


def shapley_ordered(
    paths: Iterable[tuple[tuple[str, ...], float, float]],
) -> dict[tuple[str, int], float]:
    """Conversions per (channel, position) where position is 1-based order of first appearance."""
    out: dict[tuple[str, int], float] = defaultdict(float)
    for path, c, _v in paths:
        chans = _distinct(path)
        for pos, ch in enumerate(chans, start=1):
            out[(ch, pos)] += c / len(chans)
    return dict(out)
