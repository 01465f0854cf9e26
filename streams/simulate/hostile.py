"""The identity traps of real data, added to a simulation (``SimConfig(hostile=True)``):

- store kiosks where customers log in, sent without ``device_kind`` (a device many customers share);
- family households: two customers on one tablet and one browser cookie, each logging in there;
  the second first appears unverified on the family cookie (a newsletter form) and is verified later;
- placeholder e-mails and phones typed into sign-up forms;
- logins that arrive hours after they happened (a phone offline), out of order with the rest.

What is nobody's own (the kiosk, the family tablet and cookie, the placeholders) stays out of the
identity truth, so pairwise precision counts any merge through them as wrong.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import orjson

from streams.identity.pii import hash_email, hash_phone
from streams.simulate.population import Person

if TYPE_CHECKING:
    from streams.simulate.builder import Builder

KIOSK_LOGIN = 0.15  # account holders who log in once at their store's kiosk
HOUSEHOLDS = 0.10  # account holders paired with the next one into a household
PLACEHOLDER = 0.05  # persons who type a placeholder e-mail or phone at sign-up
LATE_LOGIN = 0.3  # logins that arrive 1-24 h after they happened
JUNK_EMAILS = ("test@test.com", "noemail@noemail.com", "N/A", "a@a.a", "none@none.com", "TEST@TEST.COM")
JUNK_PHONES = ("0000000000", "0612345678", "+33 6 00 00 00 00", "1234567890", "+33 0 00 00 00 00")


def add_hostile(b: Builder, people: list[Person]) -> None:
    r = random.Random(f"{b.cfg.seed}:hostile")
    span = int((b.end - b.start).total_seconds())
    for p in people:
        at = b.start + timedelta(seconds=r.randrange(span))
        if p.user_id and r.random() < KIOSK_LOGIN:
            kiosk = f"kiosk-{p.home_store}"
            ids = {"device_id": kiosk, "user_id": p.user_id, "crm_verified": True}
            at = b.opening_hours(at)
            b.emit("login", "web", at, ids=ids, person=p, rng=r, unowned=frozenset({f"device:{kiosk}"}))
        if r.random() < PLACEHOLDER:
            junk = {"email_hash": hash_email(r.choice(JUNK_EMAILS), b.cfg.pepper)}
            if r.random() < 0.5:
                junk["phone_hash"] = hash_phone(r.choice(JUNK_PHONES), b.cfg.pepper)
            unowned = frozenset(f"{k.split('_')[0]}:{v}" for k, v in junk.items())
            ids = {"anonymous_id": p.phone_cookie, **junk}
            b.emit("signup", "web", at, ids=ids, person=p, rng=r, unowned=unowned, props={"method": "password"})
    holders = [p for p in people if p.user_id]
    for a, c in zip(holders[::2], holders[1::2], strict=False):
        if r.random() >= HOUSEHOLDS:
            continue
        cookie, tablet = f"ck-family-{a.index}", f"tablet-family-{a.index}"
        family = frozenset({f"anon:{cookie}", f"device:{tablet}"})
        first = b.start + timedelta(seconds=r.randrange(span // 2))
        shared = {"anonymous_id": cookie, "device_id": tablet}
        verified = {"crm_verified": True}
        b.emit("login", "web", first, ids={**shared, "user_id": a.user_id, **verified}, person=a, rng=r, unowned=family)
        # the second member's account first appears unverified on the family cookie
        form = first + timedelta(hours=r.randrange(1, 24))
        b.emit("signup", "web", form, ids={**shared, "user_id": c.user_id}, person=c, rng=r, unowned=family)
        later = form + timedelta(hours=r.randrange(1, 48))
        b.emit("login", "web", later, ids={**shared, "user_id": c.user_id, **verified}, person=c, rng=r, unowned=family)
    late = random.Random(f"{b.cfg.seed}:late-logins")
    delays: dict[str, int] = {}  # event id → ms (a retry of a late login is as late)
    for n, e in enumerate(b.out):
        if not (e.valid and b'"type":"login"' in e.value):
            continue
        if e.event_id not in delays:
            delays[e.event_id] = late.randrange(3600, 86400) * 1000 if late.random() < LATE_LOGIN else 0
        if delays[e.event_id]:
            ts = e.timestamp_ms + delays[e.event_id]
            event = orjson.loads(e.value)
            event["sent_at"] = datetime.fromtimestamp((ts - 30) / 1000, UTC).isoformat()  # sent when back online
            b.out[n] = replace(e, value=orjson.dumps(event), timestamp_ms=ts)
