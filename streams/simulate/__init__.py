"""A seeded simulator of a brand's customers across web, social, TV and stores, with the
ground truth (who is who; each channel's true effect) that stitching and attribution are
measured against."""

from streams.simulate.behaviour import simulate
from streams.simulate.builder import SimConfig, Simulation
from streams.simulate.truth import GroundTruth

__all__ = ["GroundTruth", "SimConfig", "Simulation", "simulate"]
