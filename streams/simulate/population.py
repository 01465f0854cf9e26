"""Persons and the identifiers they carry across devices and accounts."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from streams.identity.pii import hash_email, hash_phone
from streams.simulate.linkage import Linkage

NETWORKS = ("instagram", "facebook", "tiktok")
STORES = ("paris-01", "lyon-01", "lille-01", "nantes-01")


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    phone_cookie: str  # browser cookie on the phone
    desktop_cookie: str | None
    phone_device: str  # app / device id of the phone
    user_id: str | None  # CRM account
    email: str  # in clear, as the brand's CRM holds it (events only ever carry the hashes)
    phone: str
    email_hash: str | None
    phone_hash: str | None
    social: tuple[str, str] | None  # (network, handle)
    loyalty_id: str | None
    card_on_account: bool  # the card is attached to the online account: logins carry it
    app_user: bool  # uses the brand app, logged in: its beacon store visits carry the account id
    e_receipts: bool  # asks for e-receipts at the till (to the account's e-mail)
    crm_consent: bool  # consented to analytics in the CRM
    home_store: str
    base_rate: float  # conversion hazard per consideration moment, before any touch
    affinity: dict[str, float]  # per activity channel, daily probability


def _id(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-{uuid.UUID(int=rng.getrandbits(128), version=4).hex[:20]}"


def make_person(index: int, seed: int, pepper: str, daily: dict[str, float], linkage: Linkage) -> Person:
    rng = random.Random(f"{seed}:person:{index}")
    # drawn from a stream of their own, so that changing a linkage rate moves nothing else
    rl = random.Random(f"{seed}:linkage:{index}")
    has_account = rng.random() < 0.55
    email = f"customer{index}.{seed}@example.org"
    phone = f"+33 6 {index % 100:02d} {(index // 100) % 100:02d} {(seed + index) % 100:02d} {rng.randrange(100):02d}"
    social = (rng.choice(NETWORKS), f"fan_{index}_{rng.randrange(10**6)}") if rng.random() < 0.45 else None
    affinity = {ch: p * rng.lognormvariate(0, 0.6) for ch, p in daily.items()}
    return Person(
        index=index,
        phone_cookie=_id(rng, "ck"),
        desktop_cookie=_id(rng, "ck") if rng.random() < 0.6 else None,
        phone_device=_id(rng, "dev"),
        user_id=_id(rng, "crm") if has_account else None,
        email=email,
        phone=phone,
        email_hash=hash_email(email, pepper) if has_account or rng.random() < 0.2 else None,
        phone_hash=hash_phone(phone, pepper),
        social=social,
        loyalty_id=_id(rng, "loy") if rl.random() < linkage.loyalty_member else None,
        card_on_account=rl.random() < linkage.card_on_account,
        app_user=has_account and rl.random() < linkage.app_user,
        e_receipts=rl.random() < linkage.e_receipt,
        crm_consent=rl.random() < linkage.crm_consent,
        home_store=STORES[rng.randrange(len(STORES))],
        base_rate=min(0.05, 0.012 * rng.lognormvariate(0, 0.5)),
        affinity=affinity,
    )
