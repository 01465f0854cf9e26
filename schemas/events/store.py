"""Store events: beacons, connected fitting rooms, mirrors, tills."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from schemas.events.envelope import Currency, Envelope, Id, Money, Sku, SocialNetwork, _Model


class _Store(Envelope):
    channel: Literal["store"] = "store"

    @model_validator(mode="after")
    def _store_known(self) -> _Store:
        if not self.context.store_id:
            raise ValueError("context.store_id is required for store events")
        return self


class VisitProps(_Model):
    source: Literal["beacon", "wifi", "counter"] = "beacon"
    dwell_s: int | None = Field(None, ge=0, le=86_400)


class SessionProps(_Model):
    session_id: Id


class ItemTriedProps(SessionProps):
    sku: Sku
    rfid_tag: Id | None = None


class MirrorProps(SessionProps):
    action: Literal["browse_sizes", "browse_colours", "call_assistant", "save_look", "recommendation_tap"]


class LookSharedProps(SessionProps):
    look_id: Id
    network: SocialNetwork
    skus: list[Sku] = Field(default_factory=list, max_length=50)
    post_id: Id | None = Field(None, description="id of the resulting social post, to follow its amplification")


class AssistanceRequestedProps(_Model):
    request_id: Id
    session_id: Id | None = None


class AssistanceAnsweredProps(_Model):
    request_id: Id


class PosPurchaseProps(_Model):
    order_id: Id
    revenue: Money
    currency: Currency
    skus: list[Sku] = Field(default_factory=list, max_length=500)
    terminal_id: Id | None = None


class StoreVisit(_Store):
    type: Literal["store_visit"] = "store_visit"
    properties: VisitProps = VisitProps()


class FittingRoomEntered(_Store):
    type: Literal["fitting_room_entered"] = "fitting_room_entered"
    properties: SessionProps


class ItemTried(_Store):
    type: Literal["item_tried"] = "item_tried"
    properties: ItemTriedProps


class MirrorInteraction(_Store):
    type: Literal["mirror_interaction"] = "mirror_interaction"
    properties: MirrorProps


class LookShared(_Store):
    type: Literal["look_shared"] = "look_shared"
    properties: LookSharedProps


class AssistanceRequested(_Store):
    type: Literal["assistance_requested"] = "assistance_requested"
    properties: AssistanceRequestedProps


class AssistanceAnswered(_Store):
    type: Literal["assistance_answered"] = "assistance_answered"
    properties: AssistanceAnsweredProps


class LoyaltyScan(_Store):
    type: Literal["loyalty_scan"] = "loyalty_scan"
    properties: dict[str, str] = Field(default_factory=dict, max_length=20)


class PosPurchase(_Store):
    type: Literal["pos_purchase"] = "pos_purchase"
    properties: PosPurchaseProps


STORE_EVENTS = (
    StoreVisit,
    FittingRoomEntered,
    ItemTried,
    MirrorInteraction,
    LookShared,
    AssistanceRequested,
    AssistanceAnswered,
    LoyaltyScan,
    PosPurchase,
)
