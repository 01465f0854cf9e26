"""Rule-based models on hand-computed journeys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.attribution.rules import CONSERVED, NO_TOUCH, RULE_MODELS, attribute_journey

AT = datetime(2026, 3, 10, tzinfo=UTC)
DAY = timedelta(days=1)


def approx(d: dict[str, float]) -> dict[str, object]:
    return {k: pytest.approx(v) for k, v in d.items()}


def test_one_touch_gets_everything_in_every_conserved_model() -> None:
    for model in CONSERVED:
        assert attribute_journey(model, ["tv"], [AT - DAY], at=AT) == approx({"tv": 1.0}), model


def test_two_touches() -> None:
    path, times = ["tv", "web"], [AT - 2 * DAY, AT - DAY]
    assert attribute_journey("first_touch", path) == {"tv": 1.0, "web": 0.0}
    assert attribute_journey("last_touch", path) == {"tv": 0.0, "web": 1.0}
    assert attribute_journey("linear", path) == approx({"tv": 0.5, "web": 0.5})
    assert attribute_journey("position_based", path) == approx({"tv": 0.5, "web": 0.5})
    assert attribute_journey("j_curve", path) == approx({"tv": 0.25, "web": 0.75})
    assert attribute_journey("inverse_j", path) == approx({"tv": 0.75, "web": 0.25})
    # time decay, half-life 7 days: weights 2^(-2/7) and 2^(-1/7)
    a, b = 2 ** (-2 / 7), 2 ** (-1 / 7)
    assert attribute_journey("time_decay", path, times, at=AT) == approx({"tv": a / (a + b), "web": b / (a + b)})


def test_four_touches_with_a_repeated_channel() -> None:
    path = ["social", "web", "tv", "web"]
    assert attribute_journey("linear", path) == approx({"social": 0.25, "web": 0.5, "tv": 0.25})
    # 40 / 10 / 10 / 40
    assert attribute_journey("position_based", path) == approx({"social": 0.4, "web": 0.5, "tv": 0.1})
    # 20 / 10 / 10 / 60
    assert attribute_journey("j_curve", path) == approx({"social": 0.2, "web": 0.7, "tv": 0.1})
    assert attribute_journey("inverse_j", path) == approx({"social": 0.6, "web": 0.3, "tv": 0.1})
    assert attribute_journey("participation", path) == {"social": 1.0, "web": 1.0, "tv": 1.0}


def test_time_decay_half_life_is_configurable() -> None:
    times = [AT - 2 * DAY, AT]
    got = attribute_journey("time_decay", ["tv", "web"], times, at=AT, half_life=2 * DAY)
    assert got == approx({"tv": 1 / 3, "web": 2 / 3})  # weights 0.5 and 1


def test_last_non_direct() -> None:
    assert attribute_journey("last_non_direct", ["tv", "direct", "direct"]) == {"tv": 1.0}
    assert attribute_journey("last_non_direct", ["direct"]) == {"direct": 1.0}


def test_no_touch_conversion_is_reported_not_lost() -> None:
    for model in RULE_MODELS:
        assert attribute_journey(model, [], [], at=AT) == {NO_TOUCH: 1.0}


def test_conserved_models_sum_to_one() -> None:
    path = ["a", "b", "c", "a", "d"]
    times = [AT - i * DAY for i in range(5, 0, -1)]
    for model in CONSERVED:
        assert sum(attribute_journey(model, path, times, at=AT).values()) == pytest.approx(1.0), model


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown rule-based model"):
        attribute_journey("magic", ["a"])


def test_vectorized_totals_equal_the_per_journey_models() -> None:
    import random
    from collections import defaultdict

    from streams.attribution.vectorized import FlatJourneys, channel_totals

    rng = random.Random(3)
    chans = ["direct", "web/email", "tv/second-screen", "social/x/organic", "store/visit"]
    paths = [[rng.choice(chans) for _ in range(rng.randint(1, 6))] for _ in range(400)]
    ages = [sorted((rng.uniform(0, 20) for _ in p), reverse=True) for p in paths]
    values = [rng.uniform(10, 100) for _ in paths]
    flat = FlatJourneys.from_paths(paths, ages, values)
    for model in RULE_MODELS:
        want: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for p, a, v in zip(paths, ages, values, strict=True):
            times = [AT - timedelta(days=x) for x in a]
            for ch, w in attribute_journey(model, p, times, at=AT).items():
                want[ch][0] += w
                want[ch][1] += w * v
        got = channel_totals(flat, model)
        for ch in chans:
            assert got[ch][0] == pytest.approx(want[ch][0], abs=1e-9), (model, ch)
            assert got[ch][1] == pytest.approx(want[ch][1], abs=1e-6), (model, ch)
