"""``make bench``: benchmarks measured side by side in one run, written to bench/results/."""

import os as _os
import secrets as _secrets

# Benchmarks hash synthetic identifiers only: a throwaway pepper, unless one is set.
_os.environ.setdefault("PARCOURS_PII_PEPPER", "bench-" + _secrets.token_hex(16))
