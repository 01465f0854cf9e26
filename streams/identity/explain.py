"""``parcours person``: a person's identifiers, how and when each was linked, and their journey."""

from __future__ import annotations

import re

from streams.errors import TerminalError
from streams.identity.identifiers import singleton_person
from streams.identity.pii import hash_email, hash_phone
from streams.store.backend import Backend

_HASH = re.compile(r"^[0-9a-f]{64}$")


class UnknownPerson(TerminalError):
    """No person and no event carries this person id or identifier."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key}: not found")


def identifier_key(key: str, pepper: str) -> str:
    """A key as the identity stage names it: a clear e-mail or phone (a data subject's request)
    is normalized and hashed exactly as the edge does (``streams.identity.pii``); a hash, a person
    id or any other identifier is left as given."""
    kind, sep, value = key.partition(":")
    if not sep or _HASH.match(value):
        return key
    if kind == "email":
        return f"email:{hash_email(value, pepper)}"
    if kind == "phone":
        return f"phone:{hash_phone(value, pepper)}"
    return key


def exists(backend: Backend, key: str) -> bool:
    """Whether the store knows the person id or identifier at all."""
    if ":" in key:
        sql = (
            "SELECT (SELECT count() FROM identity_map WHERE identifier = {k:String}) + "
            "(SELECT count() FROM events WHERE primary_identifier = {k:String} OR has(identifiers, {k:String})) AS n"
        )
    else:
        sql = (
            "SELECT (SELECT count() FROM identity_map WHERE person_id = {k:String}) + "
            "(SELECT count() FROM events_stitched WHERE person_id = {k:String}) AS n"
        )
    return int(backend.query(sql, {"k": key})[0]["n"]) > 0


def resolve(backend: Backend, key: str) -> str:
    """A person id ('p…') or an identifier ('kind:value') → person id."""
    if ":" not in key:
        return key
    rows = backend.query("SELECT person_id FROM identity_current WHERE identifier = {i:String}", {"i": key})
    return str(rows[0]["person_id"]) if rows else singleton_person(key)


def explain(backend: Backend, key: str) -> str:
    if not exists(backend, key):
        raise UnknownPerson(key)
    pid = resolve(backend, key)
    ids = backend.query(
        "SELECT m.identifier AS identifier, m.verified AS verified, m.linked_at AS linked_at, m.via_event AS via "
        "FROM identity_map AS m INNER JOIN identity_current AS c "
        "ON c.identifier = m.identifier AND c.map_version = m.version WHERE c.person_id = {p:String} "
        "ORDER BY linked_at",
        {"p": pid},
    )
    members = [str(r["identifier"]) for r in ids] or ([key] if ":" in key else [])
    if not members:
        raise UnknownPerson(key)
    links = backend.query(
        "SELECT identifier_a, identifier_b, decision, event_id, event_time FROM identity_links FINAL "
        "WHERE identifier_a IN {ids:Array(String)} OR identifier_b IN {ids:Array(String)} "
        "ORDER BY event_time LIMIT 200",
        {"ids": members},
    )
    journey = backend.query(
        "SELECT event_time, channel, type, touch_channel, is_conversion, revenue, primary_identifier "
        "FROM events_dedup WHERE primary_identifier IN {ids:Array(String)} ORDER BY event_time LIMIT 500",
        {"ids": members},
    )
    out = [f"person {pid}", f"identifiers ({len(members)}):"]
    for r in ids or [{"identifier": key, "verified": 0, "linked_at": "", "via": ""}]:
        mark = " (verified)" if r["verified"] else ""
        out.append(f"  {r['identifier']}{mark}  mapped {r['linked_at']}  via event {r['via'] or '-'}")
    out.append("links:")
    for r in links:
        other = f" ↔ {r['identifier_b']}" if r["identifier_b"] else ""
        out.append(f"  {r['event_time']}  {r['identifier_a']}{other}: {r['decision']} (event {r['event_id']})")
    out.append(f"journey ({len(journey)} events):")
    for r in journey:
        tag = "CONVERSION " + f"{float(r['revenue']):.2f}" if r["is_conversion"] else (r["touch_channel"] or "")
        out.append(f"  {r['event_time']}  {r['channel']:<6} {r['type']:<22} {tag}")
    return "\n".join(out)
