"""An event's content digest: what tells a retry from a different event under the same id.

A retry is the same content, however it is written: keys in another order, other whitespace, a
``sent_at`` added or changed, the id in upper case (the transport times and the id are left out).
The digest is a keyed SHA-256 (the PII pepper first, 4 bytes kept) of the canonical bytes —
members sorted by key at every depth, no whitespace, numbers as written — the bytes the native
decoder writes for the payloads it reads (``native/src/json.rs``, ``canonical_object``);
``tests/ingest/test_native.py`` compares the two.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# The transport times a retry may add or change, and the id (the digest is compared under it).
TRANSPORT_KEYS = frozenset({"sent_at", "received_at", "event_id"})


class _Number(str):
    """A JSON number as written (``2.50`` stays ``2.50``)."""


def content_digest(payload: bytes, key: bytes) -> int:
    """``key``: the secret (the PII pepper), so that a producer cannot craft another body with a
    stored event's digest (a CRC could be)."""
    obj = json.loads(payload, parse_int=_Number, parse_float=_Number)
    parts: list[str] = []
    _write(obj, parts, TRANSPORT_KEYS)
    return int.from_bytes(hashlib.sha256(key + "".join(parts).encode()).digest()[:4], "little")


def _write(v: Any, out: list[str], skip: frozenset[str] = frozenset()) -> None:
    if isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(k for k in v if k not in skip)):
            if i:
                out.append(",")
            out.append(json.dumps(k))
            out.append(":")
            _write(v[k], out)
        out.append("}")
    elif isinstance(v, list):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _write(x, out)
        out.append("]")
    elif isinstance(v, _Number):
        out.append(str.__str__(v))
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif v is None:
        out.append("null")
    else:
        out.append(json.dumps(v))
