from __future__ import annotations

import random

import pytest

from streams.attribution.markov import markov_attribution
from streams.attribution.shapley import shapley_ordered, shapley_simplified


def test_removal_effects_on_a_chain_solved_by_hand() -> None:
    # paths: A>B converts (1), A fails (1), B converts (1)
    # start→A 2/3, start→B 1/3; A→B 1/2, A→null 1/2; B→conv 1
    # P(conv) = 2/3·1/2 + 1/3 = 2/3; without A: 1/3 (RE 0.5); without B: 0 (RE 1)
    r = markov_attribution([(("A", "B"), 1, 10, 0), (("A",), 0, 0, 1), (("B",), 1, 5, 0)])
    assert r.conversion_probability == pytest.approx(2 / 3)
    assert r.removal_effects == {"A": pytest.approx(0.5), "B": pytest.approx(1.0)}
    assert r.conversions == {"A": pytest.approx(2 / 3), "B": pytest.approx(4 / 3)}
    assert r.value == {"A": pytest.approx(5.0), "B": pytest.approx(10.0)}


def test_a_chain_with_a_loop_solved_by_hand() -> None:
    # A>B>A converts; B fails.  start→A 1/2, start→B 1/2; A→B 1/2, A→conv 1/2; B→A 1/2, B→null 1/2
    # pA = 1/2 + 1/2 pB, pB = 1/2 pA → pA = 2/3, pB = 1/3, P = 1/2
    r = markov_attribution([(("A", "B", "A"), 1, 0, 0), (("B",), 0, 0, 1)])
    assert r.conversion_probability == pytest.approx(0.5)
    # without A nothing converts; without B: start→A→conv 1/2·1/2 = 1/4
    assert r.removal_effects == {"A": pytest.approx(1.0), "B": pytest.approx(0.5)}


def test_self_loops_do_not_change_the_result() -> None:
    base = [(("A", "B"), 3, 30, 1), (("B", "C"), 1, 5, 4), (("C",), 0, 0, 2)]
    looped = [(("A", "A", "A", "B"), 3, 30, 1), (("B", "C", "C"), 1, 5, 4), (("C", "C"), 0, 0, 2)]
    a, b = markov_attribution(base), markov_attribution(looped)
    assert a.removal_effects == pytest.approx(b.removal_effects)
    assert a.conversion_probability == pytest.approx(b.conversion_probability)


def test_conversion_probability_equals_converting_over_all_paths() -> None:
    rng = random.Random(7)
    chans = "ABCD"
    paths = []
    for _ in range(300):
        p = tuple(rng.choice(chans) for _ in range(rng.randint(1, 4)))
        conv = rng.randint(0, 2)
        paths.append((p, conv, conv * 10.0, rng.randint(0, 3)))
    r = markov_attribution(paths)
    # In an order-1 chain fitted to the data, flow is conserved: P(conv) = conversions / paths.
    total = sum(c + n for _, c, _, n in paths)
    assert r.conversion_probability == pytest.approx(sum(c for _, c, _, _ in paths) / total)


def test_totals_are_conserved_and_higher_orders_run() -> None:
    paths = [(("A", "B", "C"), 5, 50, 2), (("B", "A"), 2, 10, 8), (("C",), 1, 3, 5)]
    for order in (1, 2, 3):
        r = markov_attribution(paths, order=order)
        assert sum(r.conversions.values()) == pytest.approx(8)
        assert sum(r.value.values()) == pytest.approx(63)


def test_simplified_shapley_splits_each_conversion_over_its_distinct_channels() -> None:
    paths = [(("A", "B", "A"), 2.0, 20.0), (("C",), 1.0, 7.0), (("A", "C"), 0.0, 0.0)]
    conv, val = shapley_simplified(paths)
    assert conv == {"A": pytest.approx(1.0), "B": pytest.approx(1.0), "C": pytest.approx(1.0)}
    assert val == {"A": pytest.approx(10.0), "B": pytest.approx(10.0), "C": pytest.approx(7.0)}


def test_ordered_shapley_keeps_positions_and_sums_to_simplified() -> None:
    paths = [(("A", "B", "A"), 2.0, 0.0), (("B", "A"), 1.0, 0.0)]
    ordered = shapley_ordered(paths)
    assert ordered == {
        ("A", 1): pytest.approx(1.0),
        ("B", 2): pytest.approx(1.0),
        ("B", 1): pytest.approx(0.5),
        ("A", 2): pytest.approx(0.5),
    }
    conv, _ = shapley_simplified([(p, c, v) for p, c, v in paths])
    for ch in conv:
        assert sum(v for (c, _), v in ordered.items() if c == ch) == pytest.approx(conv[ch])
