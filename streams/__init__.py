"""Parcours stream processing. Start reading here:

1. ``app.py``      — the Faust app, its topics and one stage each;
2. ``ingest/``     — the edge (publisher, collector), the raw topics' batch ``consumer`` (each
                     partition's fetch read as one record set: ``fetch.py``) and
                     ``normalize``: validate, event time, dedupe; ``native.py`` and ``native/``
                     (Rust): the batch decoder that does most of it, with the reference path
                     in Python for whatever it steps aside on;
3. ``identity/``   — identifiers and their guards, the union-find graph, the single-writer stage;
4. ``journeys/``   — channel taxonomy and journeys cut from stitched timelines;
5. ``attribution/``— rule-based and data-driven models, live and batch;
6. ``store/``      — ClickHouse backends (chDB embedded, server) and migrations;
7. ``cli.py``      — one command per user task; ``demo.py`` runs it all.
"""

from streams.errors import ParcoursError, TerminalError, TransientError
from streams.settings import Settings, get_settings

__all__ = ["ParcoursError", "Settings", "TerminalError", "TransientError", "get_settings"]
