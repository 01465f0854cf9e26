"""Path tables: the format analysts exchange (ChannelAttribution's): one row per distinct path
with ``path`` ("a > b > c"), ``total_conversions``, optional ``total_conversion_value`` and
``total_null``. Every model that a path table allows runs on it."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.attribution.markov import markov_attribution
from streams.attribution.rules import attribute_journey
from streams.attribution.shapley import shapley_simplified
from streams.errors import TerminalError

# time_decay needs touch times, which a path table does not carry.
PATH_RULE_MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "j_curve",
    "inverse_j",
    "participation",
)
ALL_PATH_MODELS = (*PATH_RULE_MODELS, "markov", "shapley")

Credits = dict[str, dict[str, dict[str, float]]]  # model → channel → {"conversions", "value"}


class PathTableError(TerminalError):
    """The CSV is not a path table; the message names the line and the problem."""


@dataclass(frozen=True, slots=True)
class PathRow:
    path: tuple[str, ...]
    conversions: float
    value: float
    nulls: float


def read_path_table(file: Path, *, delimiter: str = ",", sep: str = ">") -> list[PathRow]:
    try:
        return _read_path_table(file, delimiter=delimiter, sep=sep)
    except UnicodeDecodeError as err:
        raise PathTableError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise PathTableError(f"{file}: not a CSV path table ({err})") from None


def _read_path_table(file: Path, *, delimiter: str, sep: str) -> list[PathRow]:
    with file.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        cols = {c.strip() for c in reader.fieldnames or ()}
        if not {"path", "total_conversions"} <= cols:
            raise PathTableError(f"{file}: needs columns 'path' and 'total_conversions', found {sorted(cols)}")
        rows = []
        for n, rec in enumerate(reader, start=2):
            rec = {(k or "").strip(): (v or "").strip() for k, v in rec.items()}
            path = tuple(ch.strip() for ch in rec["path"].split(sep) if ch.strip())
            try:
                conv = float(rec["total_conversions"] or 0)
                value = float(rec.get("total_conversion_value") or 0)
                nulls = float(rec.get("total_null") or 0)
            except ValueError as err:
                raise PathTableError(f"{file}:{n}: {err}") from None
            if not all(math.isfinite(x) for x in (conv, value, nulls)) or min(conv, value, nulls) < 0:
                raise PathTableError(f"{file}:{n}: counts must be finite numbers, not negative")
            if not path:
                raise PathTableError(f"{file}:{n}: empty path")
            rows.append(PathRow(path, conv, value, nulls))
    return rows


def attribute_paths(rows: Sequence[PathRow], models: Iterable[str] = ALL_PATH_MODELS, *, order: int = 1) -> Credits:
    out: Credits = {}
    for model in models:
        if model == "markov":
            r = markov_attribution(((p.path, p.conversions, p.value, p.nulls) for p in rows), order=order)
            out[model] = {c: {"conversions": r.conversions[c], "value": r.value[c]} for c in r.conversions}
        elif model == "shapley":
            conv, val = shapley_simplified((p.path, p.conversions, p.value) for p in rows)
            out[model] = {c: {"conversions": conv[c], "value": val.get(c, 0.0)} for c in conv}
        elif model in PATH_RULE_MODELS:
            acc: dict[str, dict[str, float]] = defaultdict(lambda: {"conversions": 0.0, "value": 0.0})
            for p in rows:
                if p.conversions == 0 and p.value == 0:
                    continue
                for ch, w in attribute_journey(model, p.path).items():
                    acc[ch]["conversions"] += w * p.conversions
                    acc[ch]["value"] += w * p.value
            out[model] = dict(acc)
        else:
            raise PathTableError(
                f"model {model!r} cannot run on a path table; choose from {', '.join(ALL_PATH_MODELS)}"
            )
    return out


def format_table(credits: Credits) -> str:
    models = list(credits)
    channels = sorted({c for m in credits.values() for c in m})
    width = max([len("channel"), *map(len, channels)])
    head = f"{'channel':<{width}}  " + "  ".join(f"{m:>15}" for m in models)
    lines = ["conversions attributed", head]
    for ch in channels:
        lines.append(
            f"{ch:<{width}}  " + "  ".join(f"{credits[m].get(ch, {}).get('conversions', 0):>15.2f}" for m in models)
        )
    lines += ["", "value attributed", head]
    for ch in channels:
        lines.append(f"{ch:<{width}}  " + "  ".join(f"{credits[m].get(ch, {}).get('value', 0):>15.2f}" for m in models))
    return "\n".join(lines)
