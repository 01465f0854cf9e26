"""Parcours schemas: pydantic event models, ClickHouse DDL and exported JSON Schemas.

- ``schemas.events``: the envelope and one module per channel family; ``parse_event``
  validates raw JSON into a typed event. ``schemas.events.fast`` is the worker's decoder,
  generated from those models, that leaves to ``parse_event`` whatever it cannot judge alike.
- ``schemas/clickhouse``: numbered SQL files applied in order by ``parcours migrate``.
- ``schemas/jsonschema``: JSON Schema files for producers in other languages
  (``make schemas`` regenerates them; a test checks they match the models).
"""
