"""Hash e-mails and phones at the edge, with a secret pepper, before anything reaches Kafka.

Producers may send ``identities.email`` / ``identities.phone`` in clear to the publisher or the
collector; both replace them by ``email_hash`` / ``phone_hash`` here. Workers never see them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import orjson
import phonenumbers

from schemas.events import FREE_TEXT_FIELDS, InvalidEvent, Reason
from streams.identity.junk import NATIONAL_REGION, PLACEHOLDER_EMAILS, PLACEHOLDER_PHONES, e164, is_junk_email
from streams.nesting import dumps_any_depth

_NON_DIGITS = re.compile(r"[^\d+]")


# What a junk e-mail or phone is hashed as: one value, in ``junk_hashes``, refused by the guards.
JUNK = ""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    return JUNK if is_junk_email(email) else email


def normalise_phone(phone: str) -> str:
    """E.164; a number that cannot be a person's is junk (``junk.e164``)."""
    return e164(phone.strip()) or JUNK


def pepper_hash(value: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), value.encode(), hashlib.sha256).hexdigest()


def hash_email(email: str, pepper: str) -> str:
    return pepper_hash(normalise_email(email), pepper)


def hash_phone(phone: str, pepper: str) -> str:
    return pepper_hash(normalise_phone(phone), pepper)


def junk_hashes(pepper: str) -> frozenset[str]:
    """Hashes of empty or placeholder values, however they were normalised before hashing:
    refused as identifiers like any junk (the events' and the CRM's, whichever hashed them)."""
    clear = {"", "null", "none", "undefined", "0", "nan", "unknown", *PLACEHOLDER_EMAILS, *PLACEHOLDER_PHONES}
    clear |= {_NON_DIGITS.sub("", v) for v in PLACEHOLDER_PHONES}  # digits only, as older producers hash
    home = f"+{phonenumbers.country_code_for_region(NATIONAL_REGION)}"
    clear |= {home + v[1:] for v in PLACEHOLDER_PHONES if v.startswith("0")}  # and as E.164
    peppered = {pepper_hash(v, pepper) for v in clear} | {pepper_hash(v.lower(), pepper) for v in clear}
    # and plain SHA-256, as a producer that skipped the pepper hashes: e3b0c442… is ""
    return frozenset(peppered | {hashlib.sha256(v.encode()).hexdigest() for v in clear})


class ClearIdentifierRefused(ValueError):
    """A clear e-mail or phone that is not a string or a number: removed, and the event refused."""


def _pop_clear(ids: dict[str, Any], name: str) -> list[Any]:
    # ``Email``, ``EMAIL``: any spelling of the key is the same clear value
    return [ids.pop(k) for k in [k for k in ids if isinstance(k, str) and k.lower() == name]]


def hash_identities(event: Any, pepper: str) -> Any:
    """Replace clear e-mail/phone in an event dict (in place) by their peppered hashes. A value
    that is neither text nor a number is removed and ``ClearIdentifierRefused`` raised."""
    if not isinstance(event, dict):
        return event
    ids = event.get("identities")
    if not isinstance(ids, dict):
        return event
    refused = []
    for name, key, hasher in (("email", "email_hash", hash_email), ("phone", "phone_hash", hash_phone)):
        for value in _pop_clear(ids, name):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(int(value)) if float(value).is_integer() else str(value)
            if isinstance(value, str):
                ids[key] = hasher(value, pepper)
            elif value is not None:
                refused.append(f"identities.{name}: a {type(value).__name__}, not text (removed)")
    if refused:
        raise ClearIdentifierRefused("; ".join(refused))
    return event


# Unicode letters in the local part and the domain (``exämple.org``).
_EMAIL_TEXT = re.compile(r"(?<![\w.%+-])[\w.%+-]++@[\w-]++(?:\.[\w-]++)++")
# "@" as URLs, HTML and a second JSON escape write it: an address is an address in any of them.
_AT_FORMS = re.compile(r"%40|\\u0040|&#0*64;|&#x0*40;", re.IGNORECASE)
# Separators a phone number is written with: spaces (also no-break and narrow), dots, dashes
# (also Unicode's), slashes, parentheses. Python's and RE2's classes alike; bytes patterns take
# the ASCII ones.
PHONE_SEPARATORS = " .\\-()/\u00a0\u202f\u2010-\u2015"
_ASCII_SEPARATORS = " .\\-()/"
# 8 to 15 digits, a leading + and up to three separators between digits ("+33 (0)6 11 22 33 44",
# "06.11.22.33.44", "(555) 123 - 4567"). Only in free text and URL query strings: ids, prices and
# times are digits too.
_PHONE_TEXT = re.compile(r"(?<![\w+])\+?\d(?:[" + PHONE_SEPARATORS + r"]{0,3}\d){7,14}(?!\w)")
URL_FIELDS = frozenset({"page_url", "referrer", "target_url"})


def scrub_text(text: str, pepper: str, *, phones: bool) -> str:
    """E-mails (and, with ``phones``, phone numbers) in ``text`` replaced by their peppered hashes."""
    if _AT_FORMS.search(text):
        text = _AT_FORMS.sub("@", text)
    if "@" in text:
        text = _EMAIL_TEXT.sub(lambda m: "email_sha256:" + hash_email(m.group(), pepper), text)
    if phones:
        text = _PHONE_TEXT.sub(lambda m: "phone_sha256:" + hash_phone(m.group(), pepper), text)
    return text


def _scrub_string(key: Any, value: str, pepper: str, free: bool) -> str:
    if key in URL_FIELDS and "?" in value:  # a query string may carry ?tel=… or ?email=…%40…
        head, _, query = value.partition("?")
        return scrub_text(head, pepper, phones=False) + "?" + scrub_text(query, pepper, phones=True)
    return scrub_text(value, pepper, phones=free or key in FREE_TEXT_FIELDS)


def scrub_event(event: Any, pepper: str) -> bool:
    """The edge's and the worker's one rule set, on a decoded event, in place: clear identities
    hashed (any key case; numbers too), e-mails in every string and phones in free-text fields
    replaced by hashes. True if anything changed. Raises ``InvalidEvent`` for a clear identifier
    that cannot be hashed (after removing it)."""
    ids = event.get("identities") if isinstance(event, dict) else None
    changed = isinstance(ids, dict) and any(isinstance(k, str) and k.lower() in ("email", "phone") for k in ids)
    refused: ClearIdentifierRefused | None = None
    try:
        hash_identities(event, pepper)
    except ClearIdentifierRefused as err:
        refused = err  # the walk below still runs: the refused event's dead letter keeps no clear value
    stack: list[tuple[Any, bool]] = [(event, False)]
    while stack:  # iterative: a hostile body may nest deeper than Python's recursion limit
        node, free = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str):
                clean = _scrub_string(key, value, pepper, free)
                if clean != value:
                    node[key] = clean
                    changed = True
            elif isinstance(value, (dict, list)):
                stack.append((value, free or (isinstance(key, str) and key in FREE_TEXT_FIELDS)))
    if refused is not None:
        raise InvalidEvent(Reason.SCHEMA_VIOLATION, str(refused))
    return changed


# Linear time on hostile input: a match may only start where a run of local-part characters
# starts (lookbehind), and possessive quantifiers never backtrack.
_EMAIL = re.compile(rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++")
_PHONE = re.compile((r"(?<![\w+])\+?\d(?:[" + _ASCII_SEPARATORS + r"]{0,3}\d){7,14}(?!\w)").encode())


def _free_text_phone_trigger(separators: str = _ASCII_SEPARATORS) -> str:
    keys = "|".join(sorted(FREE_TEXT_FIELDS))
    # a free-text value with 8 digits in a row (separators allowed) before its closing quote
    return r'"(?:' + keys + r')"[\t\n\v\f\r ]*:[\t\n\v\f\r ]*"(?:[^"\\]|\\.)*?\d(?:[' + separators + r"]{0,3}\d){7}"


def _url_phone_trigger() -> str:
    keys = "|".join(sorted(URL_FIELDS))
    return r'"(?:' + keys + r')"[\t\n\v\f\r ]*:[\t\n\v\f\r ]*"[^"]*\?[^"]*\d(?:[' + _ASCII_SEPARATORS + r"]{0,3}\d){7}"


# What the worker's batch screen looks for, as one RE2 pattern (the native decoder scans for it
# by hand, streams/native/src/screen.rs): a payload with none of these is decoded as it is.
# Every e-mail has an "@" (or a backslash escape, which the decoder's screen also flags), so
# e-mails never pass unscrubbed; a phone in free text from a producer that skipped the edge does,
# except in a dead letter (each is scrubbed with ``screened=False``). RE2's ``\s`` lacks \v.
SCRUB_TRIGGERS = r'@|"(?:email|phone)"[\t\n\v\f\r ]*:'
# The full rules' triggers: any key case, escaped ASCII (``bob\u0040example.org``), free-text phones.
_FULL_SCREEN = re.compile(
    (
        r'@|%40|&#|\\u00[0-7][0-9A-Fa-f]|"(?i:email|phone)"[\t\n\v\f\r ]*:|'
        + _free_text_phone_trigger()
        + "|"
        + _url_phone_trigger()
    ).encode()
)
# The same trigger over the stored ``properties`` column (RE2, Unicode separators too).
_FREE_TEXT_PHONE_RE2 = _free_text_phone_trigger(PHONE_SEPARATORS)
# A free-text field's value in a payload that does not parse: where its phones are.
_FREE_TEXT_VALUES = re.compile(
    rb'("(?:' + "|".join(sorted(FREE_TEXT_FIELDS)).encode() + rb')"\s*:\s*")((?:[^"\\]|\\.)*+)'
)


def scrub_free_text_phones(table: Any, pepper: str) -> Any:
    """The events table (Arrow) with phone numbers in free-text properties replaced by hashes.

    The batch screen leaves them to the decoders (a digit run is in every timestamp); one RE2
    pass over the ``properties`` column finds the rare rows to rewrite."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return table
    props = table.column("properties")
    hits = pc.match_substring_regex(props, _FREE_TEXT_PHONE_RE2).to_pylist()
    if not any(hits):
        return table
    values = props.to_pylist()
    for i, hit in enumerate(hits):
        if hit:
            obj = orjson.loads(values[i])
            scrub_event({"properties": obj}, pepper)
            values[i] = orjson.dumps(obj).decode()
    at = table.schema.get_field_index("properties")
    return table.set_column(at, table.schema.field(at), pa.array(values, table.schema.field(at).type))


def scrub_payload(payload: bytes, pepper: str, *, screened: bool = True) -> bytes:
    """The worker's defence in depth for payloads that skipped our edge (a producer writing to
    Kafka directly): the edge's rules (``scrub_event``) on what parses as JSON; on what does not,
    anything that looks like an e-mail or a phone number is replaced by its hash. Dead letters
    keep this scrubbed original, never the clear value. ``screened=False``: also a payload with
    no e-mail trigger, for phones in free text."""
    if screened and _FULL_SCREEN.search(payload) is None:
        return payload
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, (dict, list)):
        try:
            if not scrub_event(obj, pepper):
                return payload
        except InvalidEvent:
            pass  # the clear value is gone; the reader refuses the event for what remains
        try:
            return orjson.dumps(obj)
        except TypeError:  # nested deeper than orjson writes
            return dumps_any_depth(obj)
    text = _EMAIL.sub(lambda m: b"email_sha256:" + hash_email(m.group().decode(), pepper).encode(), payload)
    # phones only inside what reads as a free-text value: ids and times are digits too
    return _FREE_TEXT_VALUES.sub(
        lambda m: (
            m.group(1)
            + _PHONE.sub(lambda p: b"phone_sha256:" + hash_phone(p.group().decode(), pepper).encode(), m.group(2))
        ),
        text,
    )
