"""Reference data for the dashboards: spend per channel (CSV) and the community config
(objectives and flagged accounts, JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.errors import TerminalError
from streams.store.backend import Backend


class ReferenceFileError(TerminalError):
    """The file is not valid reference data; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objective(_Strict):
    objective: str = Field(pattern=r"^(visibility|amplification|traffic|interaction|satisfaction)$")
    target: float = Field(ge=0)
    period_days: int = Field(7, ge=1, le=366)


class FlaggedAccount(_Strict):
    network: str
    handle: str = Field(min_length=1)
    reason: str = Field("internal", pattern=r"^(fake|internal|agency|bot)$")


class CommunityConfig(_Strict):
    objectives: list[Objective] = Field(default_factory=list)
    flagged_accounts: list[FlaggedAccount] = Field(default_factory=list)


def load_community(backend: Backend, data: bytes, *, source: str) -> CommunityConfig:
    """``data``: the JSON file's bytes; ``source``: its name, for the errors."""
    try:
        cfg = CommunityConfig.model_validate(json.loads(data))
    except ValidationError as err:
        where = "; ".join(
            ".".join(str(k) for k in e["loc"]) + f": {e['msg']}" + (f" (got {e['input']!r})" if e["loc"] else "")
            for e in err.errors()
        )
        raise ReferenceFileError(f"{source}: {where}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReferenceFileError(f"{source}: not JSON ({err})") from None
    now = datetime.now(UTC)
    backend.insert("objectives", [{**o.model_dump(), "loaded_at": now} for o in cfg.objectives])
    backend.insert(
        "flagged_accounts",
        [{**a.model_dump(), "handle": a.handle.lstrip("@"), "loaded_at": now} for a in cfg.flagged_accounts],
    )
    return cfg


def load_spend(
    backend: Backend,
    data: bytes,
    *,
    source: str,
    delimiter: str = ",",
    is_channel: Callable[[str], bool] = bool,
    channels: Sequence[str] = (),
) -> int:
    """CSV columns: day (YYYY-MM-DD), channel, campaign, amount, currency; ``data``: the file's
    bytes, ``source``: its name, for the errors. A channel must be one the taxonomy names
    (``is_channel``; ``channels``, the names listed when one is not)."""
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    file = source
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ReferenceFileError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    for n, rec in enumerate(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter), start=2):
        try:
            rows.append(
                {
                    "day": date.fromisoformat(rec["day"].strip()).isoformat(),
                    "channel": rec["channel"].strip(),
                    "campaign": (rec.get("campaign") or "").strip(),
                    "amount": float(rec["amount"]),
                    "currency": (rec.get("currency") or "EUR").strip(),
                    "loaded_at": now,
                }
            )
        except (KeyError, ValueError, AttributeError, TypeError) as err:
            raise ReferenceFileError(f"{file}:{n}: {err!r}") from None
        if not is_channel(rows[-1]["channel"]):
            raise ReferenceFileError(
                f"{file}:{n}: channel {rows[-1]['channel']!r} is not a touchpoint channel; use one of "
                + ", ".join(channels)
                + " (or social/<network>/paid)"
            )
    backend.insert("spend", rows)
    return len(rows)
