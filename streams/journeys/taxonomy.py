"""The channel taxonomy: event → touchpoint channel (or none).

Channels are slash paths whose first segment is the family (web, social, tv, store, direct),
e.g. ``web/paid-search``, ``social/instagram/organic``, ``tv/second-screen``,
``store/fitting-room``. Users override per event type, per UTM medium, and name their own
site hosts (navigation within the site is not a new touchpoint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import get_args
from urllib.parse import urlparse

from pydantic import BaseModel

from schemas.events import Envelope
from schemas.events.envelope import SocialNetwork

SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "qwant.", "baidu.")
SOCIAL_HOSTS = {
    "facebook.com": "facebook",
    "instagram.com": "instagram",
    "tiktok.com": "tiktok",
    "t.co": "x",
    "x.com": "x",
    "youtube.com": "youtube",
    "pinterest.com": "pinterest",
    "linkedin.com": "linkedin",
}
DEFAULT_MEDIUMS = {
    "cpc": "web/paid-search",
    "ppc": "web/paid-search",
    "paid_search": "web/paid-search",
    "email": "web/email",
    "newsletter": "web/email",
    "display": "web/display",
    "affiliate": "web/affiliate",
    "paid_social": "social/{network}/paid",
    "social": "social/{network}/organic",
    "tv": "tv/second-screen",
    "qr": "tv/second-screen",
}
# Event types that are touchpoints whatever their context.
DEFAULT_TYPES = {
    "like": "social/{network}/organic",
    "comment": "social/{network}/organic",
    "share": "social/{network}/organic",
    "mention": "social/{network}/organic",
    "follow": "social/{network}/organic",
    "question": "social/{network}/organic",
    "second_screen_checkin": "tv/second-screen",
    "qr_scan": "tv/second-screen",
    "synced_interaction": "tv/second-screen",
    "store_visit": "store/visit",
    "fitting_room_entered": "store/fitting-room",
    "look_shared": "store/fitting-room",
}


@dataclass(frozen=True, kw_only=True)
class Taxonomy:
    site_hosts: tuple[str, ...] = ("shop.example.com",)
    by_type: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPES))
    by_medium: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MEDIUMS))
    conversion_types: frozenset[str] = frozenset({"order_completed", "pos_purchase", "signup"})
    _referrer_cache: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def channel_names(self) -> list[str]:
        """Every touchpoint channel this taxonomy names, social ones for each known network (a
        campaign's ``utm_source`` may name another: ``is_channel`` accepts those too)."""
        fixed = {"direct", "web/organic-search", "web/referral", "web/other-campaign"}
        for template in (*self.by_type.values(), *self.by_medium.values()):
            networks = (*get_args(SocialNetwork), "other") if "{" in template else ("",)
            fixed |= {template.format(network=n) for n in networks}
        return sorted(fixed)

    def is_channel(self, name: str) -> bool:
        parts = name.split("/")
        social = (
            len(parts) == 3
            and parts[0] == "social"
            and re.fullmatch(r"[a-z0-9_.-]+", parts[1]) is not None
            and parts[2] in ("organic", "paid")
        )
        return social or name in self.channel_names()

    def is_conversion(self, event: Envelope) -> bool:
        return event.type in self.conversion_types

    def classify(self, event: Envelope) -> str:
        """The touchpoint channel of an event, or '' when it is not a touchpoint."""
        ctx = event.context
        return self.classify_values(
            event.type,
            network=_network(event),
            utm_medium=ctx.utm_medium,
            utm_source=ctx.utm_source,
            referrer=ctx.referrer,
        )

    def classify_values(
        self, etype: str, *, network: str, utm_medium: str | None, utm_source: str | None, referrer: str | None
    ) -> str:
        """``classify`` from the values it reads; ``network``: the properties' network, else the
        social account's, else ''."""
        if etype in self.conversion_types:
            return ""
        template = self.by_type.get(etype)
        if template is not None:
            return template.format(network=network or "other") if "{" in template else template
        if etype != "page_view":
            return ""
        if utm_medium:
            template = self.by_medium.get(utm_medium.lower())
            if template:
                return template.format(network=(utm_source or network or "other").lower())
            return "web/other-campaign"
        return self._by_referrer(referrer or "")

    def _by_referrer(self, referrer: str) -> str:
        # Referrers repeat (search pages, social hosts): parse each distinct one once.
        hit = self._referrer_cache.get(referrer)
        if hit is None:
            if len(self._referrer_cache) >= 1 << 14:
                self._referrer_cache.clear()
            hit = self._referrer_cache[referrer] = self._parse_referrer(referrer)
        return hit

    def _parse_referrer(self, referrer: str) -> str:
        host = (urlparse(referrer).hostname or "") if referrer else ""
        if not host:
            return "direct"
        if any(host == h or host.endswith("." + h) for h in self.site_hosts):
            return ""  # navigation inside the site: same visit, not a new touch
        if any(e in host for e in SEARCH_ENGINES):
            return "web/organic-search"
        for social_host, net in SOCIAL_HOSTS.items():
            if host == social_host or host.endswith("." + social_host):
                return f"social/{net}/organic"
        return "web/referral"


def _network(event: Envelope) -> str:
    props = event.properties  # type: ignore[attr-defined]  # every event type has properties
    # pydantic's __getattr__ is slow on names a model lacks; loyalty_scan's properties are a dict
    net = props.__dict__.get("network") if isinstance(props, BaseModel) else None
    if net:
        return str(net)
    return event.identities.social.network if event.identities.social else ""


def family(channel: str) -> str:
    return channel.split("/", 1)[0]
