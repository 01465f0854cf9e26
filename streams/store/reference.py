"""Reference data for the dashboards: spend per channel (CSV) and the community config
(objectives and flagged accounts, JSON)."""

from __future__ import annotations

import csv
import io
import json
import math
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


# The one currency the dashboards report revenue, cost and return on spend in (their panels' unit).
REPORTING_CURRENCY = "EUR"


def load_spend(
    backend: Backend,
    data: bytes,
    *,
    source: str,
    delimiter: str = ",",
    is_channel: Callable[[str], bool] = bool,
    channels: Sequence[str] = (),
) -> int:
    """CSV columns: day (YYYY-MM-DD), channel, campaign, amount, currency (optional, EUR);
    ``data``: the file's bytes, ``source``: its name, for the errors. A channel must be one the
    taxonomy names (``is_channel``; ``channels``, the names listed when one is not). The whole
    file is checked before any row is stored: a refused file loads nothing."""
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ReferenceFileError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    missing = {"day", "channel", "amount"} - {c.strip() for c in reader.fieldnames or ()}
    if missing:
        raise ReferenceFileError(f"{source}: missing column {', '.join(sorted(missing))} (day, channel, amount)")
    for n, rec in enumerate(reader, start=2):
        rec = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in rec.items()}
        rows.append(_spend_row(rec, f"{source}:{n}", now, is_channel, channels))
    if not rows:
        raise ReferenceFileError(f"{source}: no spend rows after the header")
    backend.insert("spend", rows)
    return len(rows)


def _spend_row(
    rec: dict[str, str], where: str, now: datetime, is_channel: Callable[[str], bool], channels: Sequence[str]
) -> dict[str, Any]:
    try:
        day = date.fromisoformat(rec["day"])
    except ValueError:
        raise ReferenceFileError(f"{where}: day {rec['day']!r} is not a date (YYYY-MM-DD)") from None
    try:
        amount = float(rec["amount"])
    except ValueError:
        raise ReferenceFileError(f"{where}: amount {rec['amount']!r} is not a number") from None
    if not math.isfinite(amount) or amount < 0:
        raise ReferenceFileError(f"{where}: amount {rec['amount']!r} must be a finite number, not negative")
    currency = rec.get("currency") or REPORTING_CURRENCY
    if currency.upper() != REPORTING_CURRENCY:
        raise ReferenceFileError(
            f"{where}: currency {currency!r}: dashboards report in {REPORTING_CURRENCY}; convert spend before loading"
        )
    if not is_channel(rec["channel"]):
        raise ReferenceFileError(
            f"{where}: channel {rec['channel']!r} is not a touchpoint channel; use one of "
            + ", ".join(channels)
            + " (or social/<network>/paid)"
        )
    return {
        "day": day.isoformat(),
        "channel": rec["channel"],
        "campaign": rec.get("campaign", ""),
        "amount": amount,
        "currency": REPORTING_CURRENCY,
        "loaded_at": now,
    }
