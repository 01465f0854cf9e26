"""Parcours stream processing. Start reading here, then follow one event in the order it runs:

1. ``ingest/publisher.py``, ``ingest/collector.py`` — the edge: validate, hash PII, send to the
   raw topics (``topics.py`` names them; ``web.py``'s ``/v1/collect`` view does the sending);
2. ``app.py`` — ``create_app`` builds the worker's Faust app from settings and hands each stage
   what it needs;
3. ``ingest/stage.py`` — the ingest stage: whole record sets from the raw topics, ``normalize``
   (the native ``decoder`` in ``native/``, pydantic for the rest), the events table as the row map
   says (``store/layout.py``), stored through ``store/`` (``stored.py`` writes it), dead letters,
   identity links;
4. ``identity/stage.py`` — the single writer: links → the identity map, with its guards;
5. ``attribution/live.py`` — live credits for the conversions the identity stage's batch touched;
6. ``store/`` — ClickHouse backends (chDB embedded, a server), migrations, the row map;
7. ``cli.py`` — one command per user task; ``demo.py`` runs it all.

The layers and why: docs/decisions/import-layers.md.
"""

from streams.errors import ParcoursError, TerminalError, TransientError
from streams.settings import Settings, get_settings

__all__ = ["ParcoursError", "Settings", "TerminalError", "TransientError", "get_settings"]
