"""Hash e-mails and phones at the edge, with a secret pepper, before anything reaches Kafka.

Producers may send ``identities.email`` / ``identities.phone`` in clear to the publisher or the
collector; both replace them by ``email_hash`` / ``phone_hash`` here. Workers never see them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

_NON_DIGITS = re.compile(r"[^\d+]")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    return _NON_DIGITS.sub("", phone.strip())


def pepper_hash(value: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), value.encode(), hashlib.sha256).hexdigest()


def hash_email(email: str, pepper: str) -> str:
    return pepper_hash(normalise_email(email), pepper)


def hash_phone(phone: str, pepper: str) -> str:
    return pepper_hash(normalise_phone(phone), pepper)


def junk_hashes(pepper: str) -> frozenset[str]:
    """Hashes of empty or placeholder values: refused as identifiers like any junk."""
    return frozenset(pepper_hash(v, pepper) for v in ("", "null", "none", "undefined", "0"))


def hash_identities(event: Any, pepper: str) -> Any:
    """Replace clear e-mail/phone in an event dict (in place) by their peppered hashes."""
    if not isinstance(event, dict):
        return event
    ids = event.get("identities")
    if not isinstance(ids, dict):
        return event
    email = ids.pop("email", None)
    if isinstance(email, str):
        ids["email_hash"] = hash_email(email, pepper)
    phone = ids.pop("phone", None)
    if isinstance(phone, str):
        ids["phone_hash"] = hash_phone(phone, pepper)
    return event
