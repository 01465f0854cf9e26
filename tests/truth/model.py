"""What each panel should show, computed in plain Python from the simulator's truth alone.

Nothing here imports the pipeline (``streams`` beyond the simulator): a join broken in a panel's
SQL cannot be broken here the same way. The attribution models are restated from their
definitions (docs: README's Attribution section), on perfect identity: every touch of the true
buyer in the lookback window, in time order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.simulate import Simulation
from streams.simulate.truth import ONLINE_CHANNELS, IdentityComponents, TrueEvent

NO_TOUCH = "no linked touchpoint"
CONVERSION_TYPES = frozenset({"order_completed", "pos_purchase", "signup"})
ONLINE = ONLINE_CHANNELS
LOOKBACK = timedelta(days=30)
HALF_LIFE = timedelta(days=7)


@dataclass(frozen=True)
class Conversion:
    event: TrueEvent
    path: tuple[tuple[datetime, str], ...]  # the buyer's touches since their previous conversion, in the window
    linkable: bool  # its identifiers reach one of the buyer's online, social or TV identifiers
    knowable: tuple[tuple[datetime, str], ...]  # those of ``path`` whose identifiers reach the conversion's

    @property
    def in_store(self) -> bool:
        return self.event.type == "pos_purchase"


def conversions(sim: Simulation, start: datetime, end: datetime, *, crm: bool = False) -> list[Conversion]:
    """``crm``: the CRM export was loaded, its records are evidence too."""
    events = sim.truth.events
    comps = IdentityComponents(sim.truth.evidence(crm=crm))
    online_roots: dict[int, set[str]] = defaultdict(set)
    touches: dict[int, list[tuple[datetime, str, str, frozenset[str]]]] = defaultdict(list)
    for e in events:
        if e.person is None:
            continue
        if e.channel in ONLINE:
            online_roots[e.person].update(comps.find(i) for i in e.presented)
        if e.touch:
            roots = frozenset(comps.find(i) for i in e.presented)
            touches[e.person].append((e.at, e.touch, e.event_id, roots))
    paths = {p: [(t, ch, roots) for t, ch, _, roots in sorted(ts)] for p, ts in touches.items()}
    bought: dict[int, list[TrueEvent]] = defaultdict(list)
    for e in events:
        if e.type in CONVERSION_TYPES and e.person is not None:
            bought[e.person].append(e)
    out = []
    for person, convs in bought.items():
        earlier: list[tuple[datetime, frozenset[str]]] = []
        for e in sorted(convs, key=lambda c: (c.at, c.event_id)):
            # A journey ends at a conversion: the next one's path starts after it (within the
            # lookback). Knowable: only a previous conversion the identifiers reach splits it.
            reach = frozenset(comps.find(i) for i in e.presented)
            previous = earlier[-1][0] if earlier else None
            previous_known = next((t for t, r in reversed(earlier) if r & reach), None)
            earlier.append((e.at, reach))
            if not start <= e.at < end:
                continue
            touched = [(t, ch, roots) for t, ch, roots in paths.get(person, []) if e.at - LOOKBACK <= t <= e.at]
            path = tuple((t, ch) for t, ch, _ in touched if previous is None or t > previous)
            knowable = tuple(
                (t, ch) for t, ch, roots in touched if roots & reach and (previous_known is None or t > previous_known)
            )
            out.append(Conversion(e, path, bool(reach & online_roots[person]), knowable))
    return out


def credit(model: str, c: Conversion, *, knowable: bool = False) -> dict[str, float]:
    """One conversion's credit per channel under ``model`` (sums to 1), on perfect identity (the
    buyer's every touch) or, ``knowable``, on the touches its identifiers can reach."""
    path = c.knowable if knowable else c.path
    channels = [ch for _, ch in path]
    n = len(channels)
    if n == 0:
        return {NO_TOUCH: 1.0}
    if model == "last_non_direct":
        pick = next((ch for ch in reversed(channels) if ch != "direct"), "direct")
        return {pick: 1.0}
    if model == "first_touch":
        weights = [1.0] + [0.0] * (n - 1)
    elif model == "last_touch":
        weights = [0.0] * (n - 1) + [1.0]
    elif model == "linear":
        weights = [1.0 / n] * n
    elif model == "position_based":
        weights = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
    elif model == "time_decay":
        raw = [2.0 ** (-((c.event.at - t) / HALF_LIFE)) for t, _ in path]
        weights = [w / sum(raw) for w in raw]
    else:
        raise ValueError(model)
    out: dict[str, float] = defaultdict(float)
    for ch, w in zip(channels, weights, strict=True):
        out[ch] += w
    return dict(out)


def channel_totals(model: str, convs: Iterable[Conversion], *, knowable: bool = False) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for c in convs:
        for ch, w in credit(model, c, knowable=knowable).items():
            out[ch] += w
    return dict(out)


def try_on_to_purchase(sim: Simulation, start: datetime, end: datetime) -> dict[str, tuple[int, int, int]]:
    """Per SKU: (fitting-room sessions in [start, end) where it was tried; those whose shopper
    bought it within a day; those of them whose sale the shopper's identifiers tie to the session,
    through identifiers presented together)."""
    events = sim.truth.events
    comps = IdentityComponents(sim.truth.evidence(crm=False))
    entered = {e.session: e for e in events if e.type == "fitting_room_entered"}
    sales = [e for e in events if e.type == "pos_purchase" and e.person is not None]
    tried: dict[tuple[str, str], TrueEvent] = {}
    for e in events:
        if e.type == "item_tried" and start <= e.at < end and e.session in entered:
            for sku in e.skus:
                tried.setdefault((e.session, sku), e)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    # what the session's shopper presented: at the entry, and a card scanned at a mirror of the same
    # room in the ten minutes after it (the store can tell no more than that)
    presented: dict[str, set[str]] = defaultdict(set)
    scans = [e for e in events if e.type == "loyalty_scan"]
    for session, s in entered.items():
        presented[session].update(s.presented)
        for c in scans:
            if c.room == s.room and s.at <= c.at < s.at + timedelta(minutes=10):
                presented[session].update(c.presented)
    for (session, sku), _ in tried.items():
        s = entered[session]
        roots = {comps.find(i) for i in presented[session]}
        bought = [
            b for b in sales if b.person == s.person and sku in b.skus and s.at <= b.at < s.at + timedelta(days=1)
        ]
        row = out[sku]
        row[0] += 1
        row[1] += bool(bought)
        row[2] += any(roots & {comps.find(i) for i in b.presented} for b in bought)
    return {sku: (a, b, c) for sku, (a, b, c) in out.items()}


def visits_with_prior_online(sim: Simulation, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Per store: visitors in [start, end) as identity can tell them apart (one per connected set
    of identifiers), and those with a web, social or direct touch their identifiers reach in the
    30 days before their first visit there."""
    events = sim.truth.events
    comps = IdentityComponents(sim.truth.evidence(crm=False))
    first: dict[tuple[str, str], datetime] = {}
    for e in events:
        if e.type == "store_visit" and start <= e.at < end and e.presented:
            key = (comps.find(e.presented[0]), e.store)
            first[key] = min(first.get(key, e.at), e.at)
    touched: dict[str, list[datetime]] = defaultdict(list)
    for e in events:
        if e.presented and (e.touch.startswith(("web/", "social/")) or e.touch == "direct"):
            touched[comps.find(e.presented[0])].append(e.at)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (root, store), at in first.items():
        out[store][0] += 1
        out[store][1] += any(at - LOOKBACK <= t < at for t in touched[root])
    return {s: (a, b) for s, (a, b) in out.items()}


def funnel(
    sim: Simulation, start: datetime, end: datetime, steps: tuple[frozenset[str], ...], window: timedelta
) -> list[int]:
    """Persons (as identity can tell them apart) reaching each step, in order, within ``window`` of
    the first: what ClickHouse's windowFunnel counts, from the truth."""
    comps = IdentityComponents(sim.truth.evidence(crm=False))
    timelines: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for e in sim.truth.events:
        if e.presented and start <= e.at <= end:
            for k, types in enumerate(steps):
                if e.type in types:
                    timelines[comps.find(e.presented[0])].append((e.at, k))
    reached = [0] * len(steps)
    for events in timelines.values():
        events.sort()
        best = 0
        for t0, k0 in events:
            if k0 != 0:
                continue
            level, cur = 1, t0
            for k in range(1, len(steps)):
                nxt = next((t for t, kk in events if kk == k and t >= cur and t <= t0 + window), None)
                if nxt is None:
                    break
                level, cur = k + 1, nxt
            best = max(best, level)
        for k in range(best):
            reached[k] += 1
    return reached


def questions(sim: Simulation, start: datetime, end: datetime) -> list[tuple[datetime, datetime | None]]:
    """(asked, first reply or None) for each question asked in [start, end], read from what the
    simulator emitted (its ids tie a reply to its question)."""
    import orjson

    asked: dict[str, datetime] = {}
    replied: dict[str, datetime] = {}
    for e in sim.emitted:
        if not e.valid:
            continue
        ev = orjson.loads(e.value)
        props = ev.get("properties") or {}
        at = datetime.fromisoformat(ev["occurred_at"])
        if ev["type"] == "question" and start <= at <= end:
            asked[props["question_id"]] = at
        elif ev["type"] == "brand_reply":
            q = props["reply_to_id"]
            replied[q] = min(replied.get(q, at), at)
    return [(at, replied.get(q)) for q, at in asked.items()]


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (ClickHouse's quantile on a small set)."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)


def emitted_events(sim: Simulation) -> list[dict[str, Any]]:
    """Each valid event the simulator emitted, once (retries share their id)."""
    import orjson

    seen: dict[str, dict[str, Any]] = {}
    for e in sim.emitted:
        if e.valid and e.event_id not in seen:
            seen[e.event_id] = orjson.loads(e.value)
    return list(seen.values())


def flagged(e: dict[str, Any]) -> bool:
    """An event of an account the community config flags (the brand's staff, its agency)."""
    from streams.simulate.builder import FLAGGED_ACCOUNTS

    social = (e.get("identities") or {}).get("social") or {}
    return (social.get("network"), social.get("handle")) in FLAGGED_ACCOUNTS


def engagement(
    sim: Simulation, posted_type: str, start: datetime, end: datetime, *, audience_only: bool = False
) -> dict[str, dict[str, int]]:
    """Per post of ``posted_type`` (post_published, look_shared) in [start, end]: likes, comments,
    shares it received (``audience_only``: flagged accounts' left out)."""
    events = [e for e in emitted_events(sim) if not (audience_only and flagged(e))]
    posts = {
        e["properties"]["post_id"]: e
        for e in events
        if e["type"] == posted_type and start <= datetime.fromisoformat(e["occurred_at"]) <= end
    }
    out = {p: {"likes": 0, "comments": 0, "shares": 0} for p in posts}
    for e in events:
        post = (e.get("properties") or {}).get("post_id")
        if e["channel"] == "social" and post in out and e["type"] in ("like", "comment", "share"):
            out[post][e["type"] + "s"] += 1
    return out
