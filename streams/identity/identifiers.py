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


def extract(event: Envelope, *, junk_hashes: frozenset[str] = frozenset()) -> Extracted:
    ids = event.identities
    raw: list[tuple[str, str]] = []
    if ids.user_id:
        raw.append(("crm", ids.user_id))
    if ids.loyalty_id:
        raw.append(("loyalty", ids.loyalty_id))
    if ids.email_hash:
        raw.append(("email", ids.email_hash))
    if ids.phone_hash:
        raw.append(("phone", ids.phone_hash))
    if ids.social:
        raw.append(("social", f"{ids.social.network}:{ids.social.handle.lower().lstrip('@')}"))
    if ids.device_id:
        raw.append(("device", ids.device_id))
    if ids.anonymous_id:
        raw.append(("anon", ids.anonymous_id))
    kept: list[str] = []
    refused: list[tuple[str, str]] = []
    for kind, value in raw:
        ident = f"{kind}:{value}"
        handle = value.split(":", 1)[1] if kind == "social" else value
        if kind == "device" and event.is_device_shared:
            refused.append((ident, "refused_shared_device"))
        elif is_junk(handle) or value in junk_hashes:
            refused.append((ident, "refused_junk"))
        else:
            kept.append(ident)
    verified = f"crm:{ids.user_id}" if ids.user_id and ids.crm_verified and f"crm:{ids.user_id}" in kept else None
    return Extracted(tuple(kept), tuple(refused), verified)


def kind_of(identifier: str) -> str:
    return identifier.split(":", 1)[0]


def singleton_person(identifier: str) -> str:
    """Person id of an identifier nobody linked; the SQL view events_stitched computes the same."""
    return "p" + hashlib.sha256(identifier.encode()).hexdigest()[:16]
