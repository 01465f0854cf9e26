"""Attribution: which channels earned the conversions.

- ``rules``: first/last touch, last non-direct, linear, position-based, time decay, J-curve,
  inverse J, participation — per journey, used live (stream) and in batch.
- ``markov``: exact absorbing-chain removal effects (order ≥ 1).
- ``shapley``: simplified and ordered Shapley values (Zhao et al. 2018).
- ``paths``: the path-table format (ChannelAttribution's) in and out.
- ``live``: the live attribution stage, after the identity stage in the single writer.
- ``batch``: recompute everything over a date range from ClickHouse; ``offline``: the pipeline's
  logic without Kafka or ClickHouse, measured against the simulator's truth (``validate``).
"""

from streams.attribution.markov import markov_attribution
from streams.attribution.rules import RULE_MODELS, attribute_journey
from streams.attribution.shapley import shapley_ordered, shapley_simplified

__all__ = ["RULE_MODELS", "attribute_journey", "markov_attribution", "shapley_ordered", "shapley_simplified"]
