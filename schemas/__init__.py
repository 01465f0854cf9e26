"""Parcours schemas: pydantic event models, ClickHouse DDL and exported JSON Schemas.

- ``schemas.events``: the envelope and one module per channel family; ``parse_event``
  validates raw JSON into a typed event or raises ``InvalidEvent`` with a typed reason
  (``schemas.errors``, the root of every error Parcours raises). The worker's native decoder is
  handed these models as data (``streams.ingest.spec``).
- ``schemas/clickhouse``: numbered SQL files applied in order by ``parcours migrate``.
- ``schemas/jsonschema``: JSON Schema files for producers in other languages
  (``make schemas`` regenerates them; a test checks they match the models).
"""
