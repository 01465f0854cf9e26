"""TV events: the broadcast log and second-screen responses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.events.envelope import Currency, Envelope, Id, Money, _Model


class _Tv(Envelope):
    channel: Literal["tv"] = "tv"


class SpotAiredProps(_Model):
    spot_id: Id
    tv_channel: Id
    programme: Id
    cost: Money
    currency: Currency
    duration_s: int = Field(30, ge=1, le=3600)


class CheckinProps(_Model):
    spot_id: Id | None = None
    programme: Id | None = None


class QrScanProps(_Model):
    spot_id: Id
    target_url: str | None = Field(None, max_length=2048)


class SyncedProps(_Model):
    spot_id: Id | None = None
    interaction: Literal["vote", "poll", "quiz", "product_tap", "replay"]


class SpotAired(_Tv):
    type: Literal["spot_aired"] = "spot_aired"
    properties: SpotAiredProps


class SecondScreenCheckin(_Tv):
    type: Literal["second_screen_checkin"] = "second_screen_checkin"
    properties: CheckinProps = CheckinProps()


class QrScan(_Tv):
    type: Literal["qr_scan"] = "qr_scan"
    properties: QrScanProps


class SyncedInteraction(_Tv):
    type: Literal["synced_interaction"] = "synced_interaction"
    properties: SyncedProps


TV_EVENTS = (SpotAired, SecondScreenCheckin, QrScan, SyncedInteraction)
