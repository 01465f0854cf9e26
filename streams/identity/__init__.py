"""Identity stitching: identifiers seen together link into one person.

``identifiers`` extracts and guards identifiers (``pii`` hashes them at the edge, ``junk`` knows
the placeholders); ``links`` carries them from ingest as columns; ``graph`` is the union-find with
its merge guards; ``shared`` and ``split`` judge shared devices and take links back; ``stage`` is
the single writer of the identity map, and ``erasure`` removes a person everywhere.
"""
