"""The envelope every event shares: ids, times, identities, consent, context.

Forward compatibility: models ignore unknown fields, so a producer on a newer
minor schema version can add fields without breaking older workers. A breaking
change bumps ``SCHEMA_VERSION``; workers refuse versions above the one they know.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1

Channel = Literal["web", "social", "tv", "store"]
SocialNetwork = Literal["facebook", "instagram", "tiktok", "x", "youtube", "pinterest", "linkedin"]
# Devices used by many people: they must never join two persons together.
SHARED_DEVICE_KINDS = frozenset({"mirror", "kiosk", "pos", "store_tablet", "tv"})
DeviceKind = Literal[
    "phone", "desktop", "tablet", "tv", "mirror", "kiosk", "pos", "store_tablet", "rfid_reader", "beacon"
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
Id = Annotated[str, Field(min_length=1, max_length=128)]


class FreeText:
    """Marks a field people type into (comments, questions, searches): the edge and the worker
    scrub phone numbers from these, as well as e-mails from every string (``FREE_TEXT_FIELDS``)."""


Text = Annotated[str, Field(max_length=5000), FreeText()]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Money = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class SocialAccount(_Model):
    network: SocialNetwork
    handle: Annotated[str, Field(min_length=1, max_length=100)]


class Identities(_Model):
    """Identifiers the event arrived with. E-mail and phone travel only as peppered SHA-256."""

    anonymous_id: Id | None = Field(None, description="first-party cookie / app instance id")
    user_id: Id | None = Field(None, description="CRM / account id")
    crm_verified: bool = Field(False, description="user_id was verified by the CRM (login, not a form)")
    email_hash: str | None = Field(None, description="hex SHA-256 of the peppered, normalised e-mail")
    phone_hash: str | None = Field(None, description="hex SHA-256 of the peppered, normalised phone")
    social: SocialAccount | None = None
    device_id: Id | None = None
    loyalty_id: Id | None = None

    @field_validator("email_hash", "phone_hash")
    @classmethod
    def _hashed(cls, v: str | None) -> str | None:
        if v is not None and not _SHA256.match(v):
            raise ValueError("must be a lowercase hex SHA-256; hash e-mails and phones at the edge")
        return v


class Consent(_Model):
    analytics: bool = True
    marketing: bool = True


class Context(_Model):
    page_url: Annotated[str, Field(max_length=2048)] | None = None
    referrer: Annotated[str, Field(max_length=2048)] | None = None
    utm_source: Id | None = None
    utm_medium: Id | None = None
    utm_campaign: Id | None = None
    store_id: Id | None = None
    fitting_room_id: Id | None = None
    device_kind: DeviceKind | None = None
    tv_spot_id: Id | None = None
    tv_programme: Id | None = None
    user_agent: Annotated[str, Field(max_length=512)] | None = None


class Envelope(_Model):
    """Fields common to every event. Subclasses fix ``type``, ``channel`` and ``properties``."""

    schema_version: Annotated[int, Field(ge=1, le=SCHEMA_VERSION)] = SCHEMA_VERSION
    event_id: UUID = Field(description="client-generated; the idempotency key")
    type: str
    channel: Channel
    occurred_at: AwareDatetime = Field(description="event time on the producer's clock")
    sent_at: AwareDatetime | None = Field(None, description="when the producer sent it, same clock")
    received_at: AwareDatetime | None = Field(None, description="set by the collector / worker")
    identities: Identities = Identities()
    consent: Consent = Consent()
    context: Context = Context()

    @property
    def is_device_shared(self) -> bool:
        return self.context.device_kind in SHARED_DEVICE_KINDS
