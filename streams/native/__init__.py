"""The native module (Rust, this folder's crate, built by ``make install``), one Rust module per
owner: the batch decoder (``streams.ingest.decoder``), the Kafka record-set reader
(``streams.ingest.fetch``), the dedupe window (``streams.ingest.dedupe``) and the identity graph
(``streams.identity.graph``). ``_native.pyi`` is its typed edge.

Every caller has a Python reference path with the same behaviour, so an install without cargo
still runs (``AVAILABLE`` is False; the names below are then missing); the differential tests
compare the two.
"""

from __future__ import annotations

try:
    from streams.native._native import Decoder, Graph, Window, read_records

    AVAILABLE = True
except ImportError:  # not built (``pip install -e .`` builds it; needs cargo)
    AVAILABLE = False

__all__ = ["AVAILABLE", "Decoder", "Graph", "Window", "read_records"]
