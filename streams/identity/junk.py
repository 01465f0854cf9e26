"""Placeholder e-mails and phones: what people type into a form to get past it. As identifiers
they would join strangers, so the edge judges the clear value (lists and patterns) and hashes
junk to one marker that the identity guards refuse; the lists are also hashed with the pepper,
so a placeholder hashed by a producer is refused too (docs/decisions/identity-junk.md)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

# Numbers written without a country code are read as this country's (the brand's home market).
NATIONAL_REGION = "FR"

PLACEHOLDER_EMAILS = (
    "test@test.com",
    "test@example.com",
    "noemail@noemail.com",
    "no@email.com",
    "none@none.com",
    "a@a.a",
    "a@a.com",
    "x@x.com",
    "email@email.com",
    "n/a",
    "na",
    "-",
)
PLACEHOLDER_PHONES = ("0000000000", "1234567890", "0123456789", "+330000000000", "9999999999", "1111111111")
# Local parts and domains nobody receives mail at.
_JUNK_LOCAL = frozenset(
    {"test", "noemail", "no-email", "nomail", "none", "null", "nobody", "noreply", "no-reply", "unknown", "na", "n/a"}
)
_JUNK_DOMAINS = frozenset(
    {"test.com", "test.fr", "noemail.com", "noemail.fr", "nomail.com", "none.com", "email.invalid", "localhost"}
)
_TLD = re.compile(r"\.[a-z]{2,}$")
_ASCENDING, _DESCENDING = "01234567890123456789", "98765432109876543210"


def is_junk_email(email: str) -> bool:
    """``email`` normalised (trimmed, lower case)."""
    local, at, domain = email.rpartition("@")
    if not at or not local or not _TLD.search(domain):
        return True  # not an address: no @, or a domain without a real top-level label (a@a.a)
    if local in _JUNK_LOCAL or domain in _JUNK_DOMAINS or domain.endswith((".invalid", ".test", ".localhost")):
        return True
    name = local.replace(".", "")
    return len(name) > 2 and name == name[0] * len(name)  # aaaa@...


@lru_cache(maxsize=1 << 14)
def e164(phone: str) -> str | None:
    """The number in E.164 (``+33 (0)6 12…``, ``06 12…`` and ``0033 6 12…`` are one phone), or
    None when it is not a number a person can have: impossible for its country (length, prefix),
    one digit repeated, or a run of consecutive digits. (Validity against allocated ranges would also
    refuse numbers allocated after the library's release.)"""
    try:
        number = phonenumbers.parse(phone, NATIONAL_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    national = str(number.national_number)
    if len(set(national[1:])) <= 1 or any(
        national[i : i + 8] in _ASCENDING or national[i : i + 8] in _DESCENDING for i in range(len(national) - 7)
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
