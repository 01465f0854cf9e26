"""Identifiers of an event as ``kind:value`` strings, with the junk and shared-device guards.

Precedence (strongest first) picks the primary identifier through which an event is
stitched to a person; all identifiers of an event link together, so any choice is consistent.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import NamedTuple

from schemas.events import Envelope

PRECEDENCE = ("crm", "loyalty", "email", "phone", "social", "device", "anon")
JUNK_VALUES = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "nan",
        "anonymous",
        "anon",
        "undefined",
        "unknown",
        "0",
        "-1",
        "n/a",
        "na",
        "guest",
        "test",
        "default",
        "false",
        "true",
        "[object object]",
        "00000000-0000-0000-0000-000000000000",
    }
)


@lru_cache(maxsize=1 << 16)  # the same identifiers recur across a person's events
def is_junk(value: str) -> bool:
    v = value.strip().lower()
    return len(v) < 3 or v in JUNK_VALUES or v == v[0] * len(v)  # last: one character repeated


class Extracted(NamedTuple):  # one per event: a tuple is cheaper to build than a frozen dataclass
    identifiers: tuple[str, ...]  # guarded, strongest first
    refused: tuple[tuple[str, str], ...]  # (identifier, reason)
    verified_crm: str | None


# Envelope fields in precedence order (social, between phone and device, is built below).
_BEFORE_SOCIAL = (("crm", "user_id"), ("loyalty", "loyalty_id"), ("email", "email_hash"), ("phone", "phone_hash"))


def extract(event: Envelope, *, junk_hashes: frozenset[str] = frozenset()) -> Extracted:
    # Runs once per event on the hot path: fields read from the model's dict, no list of pairs.
    ids = event.identities.__dict__
    kept: list[str] = []
    refused: list[tuple[str, str]] = []
    for kind, name in _BEFORE_SOCIAL:
        value = ids[name]
        if value:
            if is_junk(value) or value in junk_hashes:
                refused.append((f"{kind}:{value}", "refused_junk"))
            else:
                kept.append(f"{kind}:{value}")
    social = ids["social"]
    if social:
        handle = social.handle.lower().lstrip("@")
        ident = f"social:{social.network}:{handle}"
        if is_junk(handle):
            refused.append((ident, "refused_junk"))
        else:
            kept.append(ident)
    device = ids["device_id"]
    if device:
        if event.is_device_shared:
            refused.append((f"device:{device}", "refused_shared_device"))
        elif is_junk(device) or device in junk_hashes:
            refused.append((f"device:{device}", "refused_junk"))
        else:
            kept.append(f"device:{device}")
    anon = ids["anonymous_id"]
    if anon:
        if is_junk(anon) or anon in junk_hashes:
            refused.append((f"anon:{anon}", "refused_junk"))
        else:
            kept.append(f"anon:{anon}")
    user = ids["user_id"]
    verified = f"crm:{user}" if user and ids["crm_verified"] and kept and kept[0] == f"crm:{user}" else None
    return Extracted(tuple(kept), tuple(refused), verified)


def kind_of(identifier: str) -> str:
    return identifier.split(":", 1)[0]


def singleton_person(identifier: str) -> str:
    """Person id of an identifier nobody linked; the SQL view events_stitched computes the same."""
    return "p" + hashlib.sha256(identifier.encode()).hexdigest()[:16]
