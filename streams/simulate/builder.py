"""The simulation's settings, its output, and the builder its behaviours emit events through
(``behaviour`` draws what people do; ``hostile`` adds the identity traps of real data)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from schemas.events import SHARED_DEVICE_KINDS
from streams.simulate.linkage import Linkage
from streams.simulate.population import Person
from streams.simulate.truth import GroundTruth, TrueEvent

# Activity channels, their daily probability (before a person's affinity) and true lift.
DAILY = {
    "paid_search": 0.05,
    "email": 0.06,
    "organic": 0.07,
    "direct": 0.06,
    "social": 0.10,
    "tv": 0.06,
    "store_visit": 0.04,
    "fitting_room": 0.03,
}
LIFT = {
    "paid_search": 0.9,
    "email": 0.5,
    "organic": 0.3,
    "direct": 0.05,
    "social": 0.35,
    "tv": 0.6,
    "store_visit": 0.4,
    "fitting_room": 1.4,
}
WINDOW = timedelta(days=30)
SITE = "https://shop.example.com"
# Programmes and their local airing windows (start hour, minutes the ad breaks span).
TV_SLOTS = (
    ("tf1", "Le 13h", 13, 40),
    ("france2", "Météo", 19, 55),
    ("tf1", "Le 20h", 20, 40),
    ("m6", "Top Chef", 21, 90),
)
SPOTS_PER_DAY = 6
STORE_OPEN, STORE_CLOSE = 10, 20  # local hours
PAID_CLICK = 0.25  # of social activity on a day a sponsored post runs: a click on its link
AD_CAMPAIGN = "autumn"
TRIED_BOUGHT = 0.6  # a till sale within a day of a fitting-room session includes an item tried on
# A fitting-room session ends at the till this often, 10 to 40 minutes after the entry, with some of
# what was tried: the 30-50% "fitting-room conversion" retailers report for connected rooms.
TRY_ON_PAYS = 0.4
# A web session that browsed products ends with something left in the cart this often (no order):
# most carts are abandoned, and most sessions add nothing.
CART_LEFT = 0.3
# What an airing and a sponsored post cost, per simulated person: the share of their price the
# population simulated stands for, so return on spend is of the order brands see (0.5 to 3), not
# a national spot's price against a few thousand people's purchases.
SPOT_COST_PER_PERSON = (0.10, 0.30)
POST_SPEND_PER_PERSON = (0.07, 1.0)
# What a paid-search click costs, drawn per day: the €0.5-1.5 of fashion brands' search ads.
SEARCH_CPC = (0.5, 1.5)
SEARCH_CAMPAIGN = "brand-search"
# Accounts that engage with the brand's posts without being its audience: its staff, an agency it
# pays. The community config the demo loads flags them (dashboards/community.example.json), so
# the dashboards show their likes apart and keep them out of the headlines.
FLAGGED_ACCOUNTS = (("instagram", "brand_staff_paris"), ("facebook", "agency_boost_42"))
FLAGGED_LIKE = 0.7  # of the brand's posts on their network


# The simulated days end where this local day starts, whenever the simulator runs: a seed always
# gives the same records, stamps included (docs/simulator.md). ``end`` moves them.
END_DATE = date(2026, 11, 30)


@dataclass(frozen=True)
class SimConfig:
    persons: int = 2000
    days: int = 7
    seed: int = 42
    end: datetime | None = None  # None: local midnight in ``tz`` starting ``END_DATE`` (same data for a seed)
    tz: str = "Europe/Paris"  # the brand's time zone: days, store hours and TV programmes are local
    linkage: Linkage = field(default_factory=Linkage)
    invalid_share: float = 0.01
    duplicate_share: float = 0.01
    late_share: float = 0.002
    pepper: str = "parcours-simulator-pepper"
    disabled: frozenset[str] = frozenset()
    # Identity traps real data has (streams/simulate/hostile.py): unflagged kiosks, family devices,
    # placeholder e-mails and phones, CRM ids verified later, logins that arrive hours late.
    hostile: bool = False

    def end_at(self) -> datetime:
        if self.end is not None:
            return self.end
        return datetime.combine(END_DATE, time(), ZoneInfo(self.tz)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Emitted:
    channel: str  # raw topic family
    value: bytes
    timestamp_ms: int  # arrival (Kafka record time)
    valid: bool
    event_id: str
    reason: str = ""  # for a deliberately invalid record: the dead-letter reason it must get
    person: int | None = None  # the customer behind the event, whatever identifiers it carries


@dataclass
class Simulation:
    config: SimConfig
    truth: GroundTruth
    emitted: list[Emitted]

    @property
    def valid_ids(self) -> set[str]:
        return {e.event_id for e in self.emitted if e.valid}

    def crm_export(self) -> list[dict[str, Any]]:
        """The brand's CRM as an export (``parcours load crm``): account holders and loyalty
        members, with their card, e-mail and phone in clear and their analytics consent."""
        return [dict(r) for r in self.truth.crm]

    def spend_export(self) -> list[dict[str, Any]]:
        """Paid search's spend per local day, as an ads account exports it (``parcours load
        spend``): that day's paid-search clicks (landings tagged ``utm_medium=cpc``) at the day's
        cost per click. TV airings and sponsored posts carry their own cost in their events."""
        zone = ZoneInfo(self.config.tz)
        clicks: dict[date, int] = {}
        for e in self.truth.events:
            if e.type == "page_view" and e.touch == "web/paid-search":
                day = e.at.astimezone(zone).date()
                clicks[day] = clicks.get(day, 0) + 1
        rows = []
        for day in sorted(clicks):
            cpc = random.Random(f"{self.config.seed}:cpc:{day.isoformat()}").uniform(*SEARCH_CPC)
            rows.append(
                {
                    "day": day.isoformat(),
                    "channel": "web/paid-search",
                    "campaign": SEARCH_CAMPAIGN,
                    "amount": round(clicks[day] * cpc, 2),
                    "currency": "EUR",
                }
            )
        return rows

    def spend_csv(self) -> bytes:
        """``spend_export`` as the CSV ``parcours load spend`` reads."""
        head = "day,channel,campaign,amount,currency\n"
        lines = [
            f"{r['day']},{r['channel']},{r['campaign']},{r['amount']:.2f},{r['currency']}\n"
            for r in self.spend_export()
        ]
        return (head + "".join(lines)).encode()

    def jsonl(self) -> Iterator[bytes]:
        for e in self.emitted:
            yield orjson.dumps(
                {"channel": e.channel, "timestamp_ms": e.timestamp_ms, "value": e.value.decode("latin-1")}
            )


class Builder:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.out: list[Emitted] = []
        self.truth = GroundTruth(seed=cfg.seed, persons=cfg.persons, channel_lift=dict(LIFT), tz=cfg.tz)
        self.end = cfg.end_at()
        self.zone = ZoneInfo(cfg.tz)
        # day 0 starts at local midnight: "12:00" below is noon in the brand's time zone
        local_end = self.end.astimezone(self.zone)
        self.local_start = datetime.combine(local_end.date() - timedelta(days=cfg.days), time(), self.zone)
        self.start = self.local_start.astimezone(UTC)
        self.rng = random.Random(f"{cfg.seed}:global")
        self.tried: dict[int, tuple[datetime, list[str]]] = {}  # person → their latest fitting-room session
        self.ads: dict[date, list[str]] = {}  # local day → networks where a paid post runs that day

    def opening_hours(self, at: datetime) -> datetime:
        """``at`` moved into the stores' opening hours of its local day (same share of the day)."""
        local = at.astimezone(self.zone)
        midnight = datetime.combine(local.date(), time(), self.zone)
        share = (local - midnight).total_seconds() / 86400
        span = (STORE_CLOSE - STORE_OPEN - 0.5) * 3600
        return (midnight + timedelta(seconds=STORE_OPEN * 3600 + share * span)).astimezone(UTC)

    def local(self, day: int, seconds: float) -> datetime:
        """``seconds`` after local midnight of day ``day``, as UTC (DST-correct wall time)."""
        midnight = datetime.combine(self.local_start.date() + timedelta(days=day), time(), self.zone)
        return (midnight + timedelta(seconds=seconds)).astimezone(UTC)

    # --- emitting ---
    def emit(
        self,
        etype: str,
        channel: str,
        at: datetime,
        *,
        ids: dict[str, Any] | None = None,
        ctx: dict[str, Any] | None = None,
        props: dict[str, Any] | None = None,
        person: Person | None = None,
        actor: Person | None = None,
        touch: str = "",
        rng: random.Random | None = None,
        unowned: frozenset[str] = frozenset(),
    ) -> str:
        """``unowned``: identifiers the event carries that are nobody's own (an unflagged kiosk, a
        family cookie, a placeholder e-mail): kept out of the identity truth, like shared devices.
        ``person``: the customer whose identifiers ``ids`` are (they enter the identity truth);
        ``actor``: the customer behind an event that carries none of theirs (a shared mirror's);
        ``touch``: the touchpoint channel the simulator meant the event as, in the taxonomy's names."""
        r = rng or self.rng
        eid = str(uuid.UUID(int=r.getrandbits(128), version=4))
        if at > self.end:
            return eid  # happens after the simulated period: not emitted (the draw keeps streams aligned)
        delay = timedelta(milliseconds=r.randrange(50, 1500))
        arrival = at + delay
        if channel == "store" and r.random() < self.cfg.late_share:
            arrival = at + timedelta(days=4)  # a device that synced days later: stored, flagged late
        arrival = min(arrival, self.end)
        ev: dict[str, Any] = {
            "event_id": eid,
            "type": etype,
            "channel": channel,
            "occurred_at": at.isoformat(),
            "sent_at": (arrival - timedelta(milliseconds=30)).isoformat(),
        }
        shared = (ctx or {}).get("device_kind") in SHARED_DEVICE_KINDS
        if ids:
            ev["identities"] = ids
            if person is not None:
                for kind, val in _flat_ids(ids):
                    if not (kind == "device" and shared) and f"{kind}:{val}" not in unowned:
                        self.truth.identifier_person[f"{kind}:{val}"] = person.index
        if ctx:
            ev["context"] = ctx
        if props is not None:
            ev["properties"] = props
        value = orjson.dumps(ev)
        ts = int(arrival.timestamp() * 1000)
        who = person or actor
        index = who.index if who else None
        presented = tuple(
            f"{kind}:{val}"
            for kind, val in _flat_ids(ids or {})
            if not (kind == "device" and shared) and f"{kind}:{val}" not in unowned
        )
        revenue = float(props.get("revenue", 0.0)) if props else 0.0
        spot = str((ctx or {}).get("tv_spot_id", "")) or str(
            (props or {}).get("spot_id", "") if etype != "spot_aired" else ""
        )
        p = props or {}
        skus = tuple(p.get("skus") or ([p["sku"]] if "sku" in p else []))
        c = ctx or {}
        room = f"{c.get('store_id')}/{c['fitting_room_id']}" if "fitting_room_id" in c else ""
        self.truth.events.append(
            TrueEvent(
                eid,
                etype,
                channel,
                at,
                index,
                presented,
                touch,
                revenue,
                spot,
                str(p.get("session_id", "")),
                skus,
                room,
                str(c.get("store_id", "")),
            )
        )
        self.out.append(Emitted(channel, value, ts, True, eid, person=index))
        if r.random() < self.cfg.duplicate_share:
            self.out.append(Emitted(channel, value, ts + 500, True, eid, person=index))  # a retry: same bytes
        return eid


def _flat_ids(ids: dict[str, Any]) -> Iterator[tuple[str, str]]:
    names = {
        "user_id": "crm",
        "loyalty_id": "loyalty",
        "email_hash": "email",
        "phone_hash": "phone",
        "device_id": "device",
        "anonymous_id": "anon",
    }
    for k, v in ids.items():
        if k in names and v:
            yield names[k], v
        elif k == "social" and v:
            yield "social", f"{v['network']}:{v['handle'].lower()}"
