"""The generated reference pages: every setting (docs/settings.md, from ``streams.settings``) and
every touchpoint channel name (docs/channels.md, from ``journeys.taxonomy``). ``make schemas``
writes them; a test fails when one is stale."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, get_args

from pydantic import SecretStr

from streams.journeys.taxonomy import DEFAULT_MEDIUMS, DEFAULT_TYPES, Taxonomy
from streams.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "unset"
    if isinstance(value, tuple | list | frozenset | set):
        return ", ".join(str(v) for v in value) or "empty"
    return str(value)


def _type(field: Any) -> str:
    args = [a for a in get_args(field.annotation) if a is not type(None)]
    secret = field.annotation is SecretStr or SecretStr in args
    return " (secret; or `_FILE`)" if secret else ""


def settings_page() -> str:
    lines = [
        "# Settings",
        "",
        "Generated from `streams/settings.py` by `make schemas`; a test fails when it is stale. Every setting is an",
        "environment variable (or a line of `.env`); a secret may instead name a file in `PARCOURS_<NAME>_FILE`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `PARCOURS_{name.upper()}`{_type(field)} | `{_default(field)}` | {meaning} |")
    return "\n".join(lines) + "\n"


def channels_page() -> str:
    tax = Taxonomy()
    lines = [
        "# Touchpoint channel names",
        "",
        "Generated from `streams/journeys/taxonomy.py` by `make schemas`; a test fails when it is stale. These are",
        "the names attribution credits and `parcours load spend` accepts (`social/<network>/paid` for any network a",
        "campaign's `utm_source` names). Conversions (`order_completed`, `pos_purchase`, `signup`) are not",
        "touchpoints; a conversion with no touch linked to its buyer is credited `no linked touchpoint`, shown",
        "apart.",
        "",
        "## Names",
        "",
        *[f"- `{name}`" for name in tax.channel_names()],
        "",
        "## From an event's type",
        "",
        "| event type | channel |",
        "|---|---|",
        *[f"| `{t}` | `{c}` |" for t, c in sorted(DEFAULT_TYPES.items())],
        "",
        "## From a page view's `utm_medium`",
        "",
        "| utm_medium | channel |",
        "|---|---|",
        *[f"| `{m}` | `{c}` |" for m, c in sorted(DEFAULT_MEDIUMS.items())],
        "",
        "Any other `utm_medium` is `web/other-campaign`. A page view without one is read from its referrer: a",
        "search engine is `web/organic-search`, a social site `social/<network>/organic`, another site",
        "`web/referral`, none `direct`, the shop's own pages no touch at all. `{network}` is the event's",
        "network (its properties', else its social account's; `other` when neither).",
    ]
    return "\n".join(lines) + "\n"


PAGES = {"settings.md": settings_page, "channels.md": channels_page}


def main() -> int:
    for name, page in PAGES.items():
        (DOCS / name).write_text(page())
    print(f"wrote {', '.join(PAGES)} to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
