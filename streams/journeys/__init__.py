"""Journeys: which events are touchpoints (taxonomy), which are conversions, and the
ordered touchpoints of a person within the lookback window before each conversion."""

from streams.journeys.build import Journey, Touch, build_journeys
from streams.journeys.taxonomy import Taxonomy

__all__ = ["Journey", "Taxonomy", "Touch", "build_journeys"]
