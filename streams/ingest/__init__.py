"""Ingest: the edge (``publisher``, the HTTP ``collector``) and the ingest stage (``stage``):
whole record sets from the raw topics (``consumer``, ``fetch``) → ``normalize`` (the native
``decoder``, pydantic for the rest; event time, dedupe) → the events table (``columns``,
``stored``), dead letters and identity links."""
