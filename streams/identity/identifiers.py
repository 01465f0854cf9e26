"""Identifiers of an event as ``kind:value`` strings, with the junk and shared-device guards.

Precedence (strongest first) picks the primary identifier through which an event is
stitched to a person; all identifiers of an event link together, so any choice is consistent.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import NamedTuple

import orjson

from schemas.events import Envelope

_SCRUBBED_EMAIL = re.compile(rb"email_sha256:([0-9a-f]{64})")

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
    social = (ids.social.network, ids.social.handle) if ids.social else None
    return extract_values(
        user_id=ids.user_id,
        loyalty_id=ids.loyalty_id,
        email_hash=ids.email_hash,
        phone_hash=ids.phone_hash,
        social=social,
        device_id=ids.device_id,
        anonymous_id=ids.anonymous_id,
        crm_verified=ids.crm_verified,
        device_shared=event.is_device_shared,
        junk_hashes=junk_hashes,
    )


def extract_values(
    *,
    user_id: str | None,
    loyalty_id: str | None,
    email_hash: str | None,
    phone_hash: str | None,
    social: tuple[str, str] | None,  # (network, handle)
    device_id: str | None,
    anonymous_id: str | None,
    crm_verified: bool,
    device_shared: bool,
    junk_hashes: frozenset[str] = frozenset(),
) -> Extracted:
    """``extract`` from the identities' values: the reference ``native/src/extract.rs`` restates."""
    raw: list[tuple[str, str]] = []
    if user_id:
        raw.append(("crm", user_id))
    if loyalty_id:
        raw.append(("loyalty", loyalty_id))
    if email_hash:
        raw.append(("email", email_hash))
    if phone_hash:
        raw.append(("phone", phone_hash))
    if social:
        raw.append(("social", f"{social[0]}:{social[1].lower().lstrip('@')}"))
    if device_id:
        raw.append(("device", device_id))
    if anonymous_id:
        raw.append(("anon", anonymous_id))
    kept: list[str] = []
    refused: list[tuple[str, str]] = []
    for kind, value in raw:
        ident = f"{kind}:{value}"
        handle = value.split(":", 1)[1] if kind == "social" else value
        if kind == "device" and device_shared:
            refused.append((ident, "refused_shared_device"))
        elif is_junk(handle) or value in junk_hashes:
            refused.append((ident, "refused_junk"))
        else:
            kept.append(ident)
    verified = f"crm:{user_id}" if user_id and crm_verified and f"crm:{user_id}" in kept else None
    return Extracted(tuple(kept), tuple(refused), verified)


# A person id: "p" and 16 hex digits (``singleton_person``, the graph's canonical ids, fresh ids).
PERSON_ID = re.compile(r"^p[0-9a-f]{16}$")


def person_key_problem(key: str) -> str | None:
    """Why ``key`` names no person (for ``person`` and ``forget``, and for an erasure request
    the identity stage reads), or None: a person id, or ``kind:value`` with a known kind and a
    value. An empty key once matched the rows no person owns (unlinked till sales) and erased them."""
    if PERSON_ID.match(key):
        return None
    kind, sep, value = key.partition(":")
    if not sep:
        return f"{key!r} is neither a person id (p and 16 hex digits) nor kind:value"
    if kind not in PRECEDENCE:
        return f"{kind!r} is not an identifier kind; use one of {', '.join(PRECEDENCE)}"
    if not value.strip():
        return f"{key!r} has no value after {kind}:"
    return None


def kind_of(identifier: str) -> str:
    return identifier.split(":", 1)[0]


def singleton_person(identifier: str) -> str:
    """Person id of an identifier nobody linked; the SQL view events_stitched computes the same."""
    return "p" + hashlib.sha256(identifier.encode()).hexdigest()[:16]


def dead_letter_identifiers(payload: bytes) -> list[str]:
    """The identifiers a dead letter's (scrubbed) payload names, as ``kind:value``: its
    ``identities`` if it parses, and any scrubbed e-mail in its text."""
    found = [f"email:{h.decode()}" for h in _SCRUBBED_EMAIL.findall(payload)]
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return found
    ids = obj.get("identities") if isinstance(obj, dict) else None
    if not isinstance(ids, dict):
        return found

    def text(name: str) -> str | None:
        v = ids.get(name)
        return v if isinstance(v, str) and v else None

    social = ids.get("social")
    pair = None
    if isinstance(social, dict) and isinstance(social.get("network"), str) and isinstance(social.get("handle"), str):
        pair = (social["network"], social["handle"])
    ex = extract_values(
        user_id=text("user_id"),
        loyalty_id=text("loyalty_id"),
        email_hash=text("email_hash"),
        phone_hash=text("phone_hash"),
        social=pair,
        device_id=text("device_id"),
        anonymous_id=text("anonymous_id"),
        crm_verified=False,
        device_shared=False,
    )
    return found + list(ex.identifiers)
