"""Identity stitching: identifiers seen together link into one person.

``identifiers`` extracts and guards identifiers at ingest; ``graph`` is the union-find
with its merge guards, owned by the single-writer identity stage (``agent``).
"""
