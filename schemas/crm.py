"""A CRM or loyalty export record: who the brand knows, by which identifiers, with which consent.

``parcours load crm FILE`` reads these (CSV or JSON Lines), hashes e-mails and phones at the edge
exactly as events are hashed, and hands them to the identity stage as verified evidence: the
CRM id links the loyalty cards, e-mails, phones and social handles the brand holds for it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

Id = Annotated[str, Field(min_length=1, max_length=128)]


class CrmRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    crm_id: Id = Field(description="the customer's id in the CRM (events carry it as identities.user_id)")
    loyalty_ids: tuple[Id, ...] = Field((), description="loyalty card numbers; CSV: separated by ';'")
    email: str | None = Field(None, max_length=320, description="in clear: hashed at the edge, never sent")
    phone: str | None = Field(None, max_length=64, description="in clear: hashed at the edge, never sent")
    social: tuple[Annotated[str, Field(pattern=r"^[a-z]+:.+$")], ...] = Field(
        (), description="network:handle pairs, e.g. instagram:jane_doe; CSV: separated by ';'"
    )
    consent_analytics: bool = Field(True, description="false: the record links nothing")
    deleted: bool = Field(False, description="the CRM deleted the customer")

    @field_validator("loyalty_ids", "social", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return tuple(x.strip() for x in v.split(";") if x.strip())
        return v

    @field_validator("crm_id", mode="before")
    @classmethod
    def _number_is_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("email", "phone", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v
