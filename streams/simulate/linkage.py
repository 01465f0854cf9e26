"""How often the brand's own systems learn who a store customer is: the rates the simulator
draws per person and per purchase. The defaults are retail industry orders of magnitude (see
docs/simulator.md), not values tuned to make linking easy; ``halved`` gives the pessimistic case.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True, kw_only=True)
class Linkage:
    loyalty_member: float = 0.45  # persons who hold the brand's loyalty card
    card_presented: float = 0.8  # a member's in-store purchases where the card is scanned at the till
    card_on_account: float = 0.6  # members whose card is attached to their online account (seen at login)
    e_receipt: float = 0.15  # in-store purchases with an e-receipt sent to a known e-mail
    app_user: float = 0.25  # account holders with the brand app, logged in, whose beacon visits carry their id
    crm_consent: float = 0.9  # CRM records with analytics consent (the others link nothing)

    def halved(self) -> Linkage:
        return replace(self, **{f.name: getattr(self, f.name) / 2 for f in fields(self)})
