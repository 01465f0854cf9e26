"""Cross-channel behaviour over days, with common random numbers so that switching one
channel off changes only that channel's touches and what they caused.

Each person draws its activities per channel from its own random stream per channel, and
its consideration moments (when it might buy) from another. At each moment the chance to
buy is ``base_rate × Π(1 + lift[c])`` over the person's touches in the last 30 days; the
same uniform draw decides it in every counterfactual run. A channel's true incremental
conversions are the difference between the full run and the run without it.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson

from streams.simulate.builder import (
    AD_CAMPAIGN,
    CART_LEFT,
    DAILY,
    FLAGGED_ACCOUNTS,
    FLAGGED_LIKE,
    LIFT,
    PAID_CLICK,
    POST_SPEND_PER_PERSON,
    SEARCH_CAMPAIGN,
    SITE,
    SPOT_COST_PER_PERSON,
    SPOTS_PER_DAY,
    STORE_CLOSE,
    STORE_OPEN,
    TRIED_BOUGHT,
    TRY_ON_PAYS,
    TV_SLOTS,
    WINDOW,
    Builder,
    Emitted,
    SimConfig,
    Simulation,
)
from streams.simulate.population import NETWORKS, STORES, Person, make_person


def _brand_events(b: Builder) -> list[tuple[datetime, str, str, str]]:
    """TV spots and brand posts; returns spots as (time, spot_id, tv_channel, programme)."""
    spots = []
    r = random.Random(f"{b.cfg.seed}:brand")
    for day in range(b.cfg.days):
        for k in range(SPOTS_PER_DAY):
            tv_channel, programme, hour, span = r.choice(TV_SLOTS)
            at = b.local(day, hour * 3600 + r.randrange(span) * 60)
            spot = f"spot-{day:02d}-{k}"
            b.emit(
                "spot_aired",
                "tv",
                at,
                props={
                    "spot_id": spot,
                    "tv_channel": tv_channel,
                    "programme": programme,
                    "cost": round(r.uniform(*SPOT_COST_PER_PERSON) * b.cfg.persons, 2),
                    "currency": "EUR",
                    "duration_s": 30,
                },
                rng=r,
            )
            spots.append((at, spot, tv_channel, programme))
        for k in range(3):
            at = b.local(day, r.randrange(8, 21) * 3600 + r.randrange(60) * 60)
            net = r.choice(NETWORKS)
            paid = r.random() < 0.4
            if paid:
                b.ads.setdefault(at.astimezone(b.zone).date(), []).append(net)
            b.emit(
                "post_published",
                "social",
                at,
                props={
                    "post_id": f"post-{day:02d}-{k}",
                    "network": net,
                    "text": "New collection",
                    "paid": paid,
                    **(
                        {
                            "spend": round(r.uniform(*POST_SPEND_PER_PERSON) * b.cfg.persons, 2),
                            "currency": "EUR",
                            "campaign": AD_CAMPAIGN,
                        }
                        if paid
                        else {}
                    ),
                },
                rng=r,
            )
            _flagged_likes(b, f"post-{day:02d}-{k}", net, at)
    return spots


def _flagged_likes(b: Builder, post: str, network: str, at: datetime) -> None:
    """The staff's and the agency's likes on a brand post: streams of their own, no other draw moves."""
    for net, handle in FLAGGED_ACCOUNTS:
        r = random.Random(f"{b.cfg.seed}:flagged:{post}:{handle}")
        if net == network and r.random() < FLAGGED_LIKE:
            b.emit(
                "like",
                "social",
                at + timedelta(minutes=r.randrange(2, 60)),
                ids={"social": {"network": net, "handle": handle}},
                rng=r,
                props={"post_id": post, "network": net},
            )


def _web_session(b: Builder, p: Person, at: datetime, r: random.Random, source: str) -> None:
    cookie = p.phone_cookie if (p.desktop_cookie is None or r.random() < 0.5) else p.desktop_cookie
    kind = "phone" if cookie == p.phone_cookie else "desktop"
    ids: dict[str, Any] = {"anonymous_id": cookie}
    ctx: dict[str, Any] = {"device_kind": kind, "page_url": f"{SITE}/"}
    if source == "paid_search":
        ctx.update(
            utm_source="google", utm_medium="cpc", utm_campaign=SEARCH_CAMPAIGN, referrer="https://www.google.com/"
        )
    elif source == "email":
        ctx.update(utm_source="newsletter", utm_medium="email", utm_campaign="weekly")
    elif source == "organic":
        ctx["referrer"] = "https://www.google.com/"
    elif source.startswith("social_click:"):
        ctx["referrer"] = f"https://www.{source.split(':', 1)[1]}/brand"
    elif source.startswith("paid_social:"):
        # ads managers tag their links; the taxonomy's ``paid_social`` medium reads the network
        net = source.split(":", 1)[1]
        ctx.update(
            utm_source=net, utm_medium="paid_social", utm_campaign=AD_CAMPAIGN, referrer=f"https://www.{net}.com/"
        )
    b.emit(
        "page_view",
        "web",
        at,
        ids=ids,
        ctx=ctx,
        person=p,
        rng=r,
        touch=_web_touch(source),
    )
    t = at + timedelta(seconds=r.randrange(10, 120))
    if p.user_id and r.random() < 0.5:
        ids = {
            "anonymous_id": cookie,
            "user_id": p.user_id,
            "crm_verified": True,
            **({"email_hash": p.email_hash} if p.email_hash else {}),
        }
        if p.social and r.random() < 0.3:
            ids["social"] = {"network": p.social[0], "handle": p.social[1]}
        if p.loyalty_id and p.card_on_account:
            ids["loyalty_id"] = p.loyalty_id  # the account page holds the card
        b.emit(
            "login", "web", t, ids=ids, person=p, rng=r, props={"method": "social" if "social" in ids else "password"}
        )
    inner = {"device_kind": kind, "referrer": f"{SITE}/", "page_url": f"{SITE}/p"}
    sku = ""
    for _ in range(r.randrange(1, 4)):
        t += timedelta(seconds=r.randrange(10, 90))
        sku = f"sku-{r.randrange(300):03d}"
        b.emit(
            "product_view",
            "web",
            t,
            ids=ids,
            ctx=inner,
            person=p,
            rng=r,
            props={"sku": sku, "price": 49.9, "currency": "EUR"},
        )
    # a cart left behind: a stream of its own per session, so no other draw moves
    cart = random.Random(f"{b.cfg.seed}:{p.index}:cart:{at.isoformat()}")
    if cart.random() < CART_LEFT:
        b.emit(
            "add_to_cart",
            "web",
            t + timedelta(seconds=cart.randrange(10, 60)),
            ids=ids,
            ctx=inner,
            person=p,
            rng=cart,
            props={"sku": sku, "quantity": 1},
        )


_WEB_TOUCH = {"paid_search": "web/paid-search", "email": "web/email", "organic": "web/organic-search"}
_HOST_NETWORK = {"instagram.com": "instagram", "facebook.com": "facebook", "tiktok.com": "tiktok"}


def _web_touch(source: str) -> str:
    """The channel a web session's landing page truly comes from."""
    kind, _, where = source.partition(":")
    if kind == "social_click":
        return f"social/{_HOST_NETWORK[where]}/organic"
    if kind == "paid_social":
        return f"social/{where}/paid"
    return _WEB_TOUCH.get(source, "direct")


def _social(b: Builder, p: Person, at: datetime, r: random.Random) -> None:
    ads = b.ads.get(at.astimezone(b.zone).date())
    if ads and r.random() < PAID_CLICK:
        _web_session(b, p, at, r, "paid_social:" + r.choice(ads))  # a sponsored post's link
        return
    if not p.social:
        # Without an account the person sees content but leaves no identifiable trace there;
        # they click through to the site instead.
        _web_session(b, p, at, r, "social_click:" + r.choice(("instagram.com", "facebook.com", "tiktok.com")))
        return
    net, handle = p.social
    ids = {"social": {"network": net, "handle": handle}}
    touch = f"social/{net}/organic"
    post = f"post-{r.randrange(b.cfg.days):02d}-{r.randrange(3)}"
    kind = r.choices(("like", "comment", "share", "question", "follow", "mention"), (5, 2, 1, 1, 0.5, 0.5))[0]
    if kind in ("like", "share"):
        b.emit(kind, "social", at, ids=ids, person=p, rng=r, props={"post_id": post, "network": net}, touch=touch)
    elif kind == "comment":
        b.emit(
            "comment",
            "social",
            at,
            ids=ids,
            person=p,
            touch=touch,
            rng=r,
            props={"post_id": post, "network": net, "comment_id": f"c-{r.getrandbits(48):x}", "text": "love it"},
        )
    elif kind == "question":
        qid = f"q-{r.getrandbits(48):x}"
        b.emit(
            "question",
            "social",
            at,
            ids=ids,
            person=p,
            touch=touch,
            rng=r,
            props={"question_id": qid, "network": net, "text": "Is this available in M?"},
        )
        if r.random() < 0.9:
            delay = timedelta(minutes=r.choice((5, 20, 45, 90, 240, 900)))
            b.emit(
                "brand_reply",
                "social",
                at + delay,
                rng=r,
                props={
                    "reply_id": f"r-{r.getrandbits(48):x}",
                    "reply_to_id": qid,
                    "network": net,
                    "text": "Yes!",
                    **({"satisfaction": r.randint(3, 5)} if r.random() < 0.3 else {}),
                },
            )
    elif kind == "follow":
        b.emit("follow", "social", at, ids=ids, person=p, rng=r, props={"network": net}, touch=touch)
    else:
        b.emit("mention", "social", at, ids=ids, person=p, rng=r, props={"network": net, "text": "@brand"}, touch=touch)


def _tv(b: Builder, p: Person, at: datetime, r: random.Random, spots: list[tuple[datetime, str, str, str]]) -> None:
    # Respond to the spot aired closest before this moment, within minutes of it.
    local_day = at.astimezone(b.zone).date()
    day_spots = [s for s in spots if s[0].astimezone(b.zone).date() == local_day] or spots
    spot_at, spot, _ch, programme = r.choice(day_spots)
    t = spot_at + timedelta(seconds=r.randrange(20, 420))
    ctx = {"device_kind": "phone", "tv_spot_id": spot, "tv_programme": programme}
    if r.random() < 0.6:
        b.emit(
            "qr_scan",
            "tv",
            t,
            ids={"device_id": p.phone_device, "anonymous_id": p.phone_cookie},
            ctx=ctx,
            person=p,
            touch="tv/second-screen",
            rng=r,
            props={"spot_id": spot, "target_url": f"{SITE}/tv"},
        )
    else:
        ids: dict[str, Any] = {"device_id": p.phone_device}
        if p.social:
            ids["social"] = {"network": p.social[0], "handle": p.social[1]}
        b.emit(
            "second_screen_checkin",
            "tv",
            t,
            ids=ids,
            ctx=ctx,
            person=p,
            touch="tv/second-screen",
            rng=r,
            props={"spot_id": spot, "programme": programme},
        )


def _store(b: Builder, p: Person, at: datetime, r: random.Random, fitting: bool) -> None:
    store = p.home_store if r.random() < 0.8 else r.choice(STORES)
    visit_ids: dict[str, Any] = {"device_id": p.phone_device}
    if p.app_user and p.user_id:
        visit_ids.update(user_id=p.user_id, crm_verified=True)  # the brand app, logged in
    b.emit(
        "store_visit",
        "store",
        at,
        ids=visit_ids,
        ctx={"store_id": store, "device_kind": "beacon"},
        person=p,
        touch="store/visit",
        rng=r,
        props={"source": "beacon", "dwell_s": r.randrange(120, 2400)},
    )
    if not fitting:
        return
    room = f"fr-{r.randrange(1, 5)}"
    mirror = f"mirror-{store}-{room}"
    b.truth.shared_devices.append(f"device:{mirror}") if f"device:{mirror}" not in b.truth.shared_devices else None
    session = f"s-{r.getrandbits(48):x}"
    t = at + timedelta(minutes=r.randrange(2, 15))
    ctx = {"store_id": store, "fitting_room_id": room}
    b.emit(
        "fitting_room_entered",
        "store",
        t,
        ids={"device_id": p.phone_device},
        ctx=ctx,
        person=p,
        touch="store/fitting-room",
        rng=r,
        props={"session_id": session},
    )
    if p.loyalty_id and r.random() < 0.7:
        b.emit(
            "loyalty_scan",
            "store",
            t + timedelta(seconds=30),
            ids={"loyalty_id": p.loyalty_id, "phone_hash": p.phone_hash, "device_id": mirror},
            ctx={**ctx, "device_kind": "mirror"},
            person=p,
            rng=r,
            props={},
        )
    skus = [f"sku-{r.randrange(300):03d}" for _ in range(r.randrange(1, 5))]
    b.tried[p.index] = (t, skus)
    for i, sku in enumerate(skus):
        b.emit(
            "item_tried",
            "store",
            t + timedelta(minutes=1 + i),
            ids={"device_id": mirror},
            ctx={**ctx, "device_kind": "mirror"},
            actor=p,
            rng=r,
            props={"session_id": session, "sku": sku},
        )
    if r.random() < 0.5:
        b.emit(
            "mirror_interaction",
            "store",
            t + timedelta(minutes=2),
            ids={"device_id": mirror},
            ctx={**ctx, "device_kind": "mirror"},
            actor=p,
            rng=r,
            props={"session_id": session, "action": r.choice(("browse_sizes", "browse_colours", "save_look"))},
        )
    if r.random() < 0.3:
        req = f"a-{r.getrandbits(48):x}"
        b.emit(
            "assistance_requested",
            "store",
            t + timedelta(minutes=3),
            ids={"device_id": mirror},
            ctx={**ctx, "device_kind": "mirror"},
            actor=p,
            rng=r,
            props={"request_id": req, "session_id": session},
        )
        b.emit(
            "assistance_answered",
            "store",
            t + timedelta(minutes=3, seconds=r.randrange(30, 600)),
            ctx={"store_id": store, "device_kind": "store_tablet"},
            rng=r,
            props={"request_id": req},
        )
    if p.social and r.random() < 0.25:
        net, handle = p.social
        post = f"look-{r.getrandbits(48):x}"
        b.emit(
            "look_shared",
            "store",
            t + timedelta(minutes=5),
            ids={"social": {"network": net, "handle": handle}, "device_id": mirror},
            ctx={**ctx, "device_kind": "mirror"},
            person=p,
            touch="store/fitting-room",
            rng=r,
            props={"session_id": session, "look_id": post, "network": net, "skus": skus, "post_id": post},
        )
        for k in range(r.randrange(0, 6)):
            b.emit(
                r.choice(("like", "like", "comment", "share")),
                "social",
                t + timedelta(minutes=10 + 7 * k),
                rng=r,
                props={"post_id": post, "network": net, "comment_id": f"c-{r.getrandbits(40):x}", "text": "nice"},
            )
    # paying for what was tried: its own stream, so this moves no other draw
    pay = random.Random(f"{b.cfg.seed}:{p.index}:pays:{session}")
    if pay.random() < TRY_ON_PAYS:
        at_till = t + timedelta(minutes=pay.randrange(10, 40))
        bought = pay.sample(skus, pay.randrange(1, len(skus) + 1))
        revenue = _convert(b, p, at_till, pay, in_store=True, store=store, skus=bought)
        if at_till <= b.end:
            b.truth.conversions += 1
            b.truth.revenue += revenue


def _convert(
    b: Builder,
    p: Person,
    at: datetime,
    r: random.Random,
    in_store: bool,
    *,
    store: str | None = None,
    skus: list[str] | None = None,
) -> float:
    """A purchase: at the till of ``store`` (the person's home store by default) or online;
    ``skus``: what is bought, when a fitting-room session decided it."""
    revenue = round(r.uniform(25, 400), 2)
    chosen = skus is not None
    skus = skus if skus is not None else [f"sku-{r.randrange(300):03d}" for _ in range(r.randrange(1, 4))]
    tried_at, tried = b.tried.get(p.index, (None, []))
    if not chosen and in_store and tried_at is not None and timedelta(0) < at - tried_at < timedelta(days=1):
        # a sale soon after a fitting-room session: often something tried on (its own stream of draws)
        pick = random.Random(f"{b.cfg.seed}:{p.index}:buys-tried:{at.isoformat()}")
        if pick.random() < TRIED_BOUGHT:
            skus[0] = pick.choice(tried)
    if in_store:
        store = store or p.home_store
        till: dict[str, Any] = {}
        till_draw = random.Random(f"{b.cfg.seed}:{p.index}:till:{at.isoformat()}").random()  # moves no other draw
        if p.loyalty_id and till_draw < b.cfg.linkage.card_presented:
            till["loyalty_id"] = p.loyalty_id
        if p.e_receipts and p.email_hash:
            till["email_hash"] = p.email_hash  # the e-receipt's address, hashed at the till
        b.emit(
            "pos_purchase",
            "store",
            at,
            ids=till or None,
            person=p,
            rng=r,
            ctx={"store_id": store, "device_kind": "pos"},
            props={
                "order_id": f"o-{r.getrandbits(48):x}",
                "revenue": revenue,
                "currency": "EUR",
                "skus": skus,
                "terminal_id": f"pos-{store}-1",
            },
        )
        return revenue
    cookie = p.phone_cookie
    ids: dict[str, Any] = {"anonymous_id": cookie}
    if p.user_id:
        ids.update(user_id=p.user_id, crm_verified=True)
    if p.email_hash:
        ids["email_hash"] = p.email_hash
    inner = {"device_kind": "phone", "referrer": f"{SITE}/p"}
    # the product page the order starts on (its own stream: the consideration draws do not move)
    view = random.Random(f"{b.cfg.seed}:{p.index}:view:{at.isoformat()}")
    b.emit(
        "product_view",
        "web",
        at - timedelta(minutes=view.randrange(4, 12)),
        ids=ids,
        ctx={"device_kind": "phone", "referrer": f"{SITE}/", "page_url": f"{SITE}/p"},
        person=p,
        rng=view,
        props={"sku": skus[0], "price": 49.9, "currency": "EUR"},
    )
    b.emit(
        "add_to_cart",
        "web",
        at - timedelta(minutes=3),
        ids=ids,
        ctx=inner,
        person=p,
        rng=r,
        props={"sku": skus[0], "quantity": 1},
    )
    b.emit(
        "checkout_started",
        "web",
        at - timedelta(minutes=1),
        ids=ids,
        ctx=inner,
        person=p,
        rng=r,
        props={"cart_value": revenue, "currency": "EUR"},
    )
    b.emit(
        "order_completed",
        "web",
        at,
        ids=ids,
        ctx=inner,
        person=p,
        rng=r,
        props={"order_id": f"o-{r.getrandbits(48):x}", "revenue": revenue, "currency": "EUR", "skus": skus},
    )
    return revenue


def _person(b: Builder, p: Person, spots: list[tuple[datetime, str, str, str]]) -> None:
    cfg = b.cfg
    touches: list[tuple[datetime, str]] = []
    for ch, daily in p.affinity.items():
        r = random.Random(f"{cfg.seed}:{p.index}:{ch}")
        for day in range(cfg.days):
            if r.random() >= daily:
                continue
            waking = r.randrange(8 * 3600, 22 * 3600)
            if ch in ("store_visit", "fitting_room"):  # the same draw, squeezed into opening hours
                waking = STORE_OPEN * 3600 + (waking - 8 * 3600) * (STORE_CLOSE - STORE_OPEN - 1) // 14
            at = b.local(day, waking)
            if ch in cfg.disabled:
                continue  # same draws as the full run, nothing emitted: a clean counterfactual
            touches.append((at, ch))
            if ch in ("paid_search", "email", "organic", "direct"):
                _web_session(b, p, at, r, ch)
            elif ch == "social":
                _social(b, p, at, r)
            elif ch == "tv":
                _tv(b, p, at, r, spots)
            else:
                _store(b, p, at, r, fitting=ch == "fitting_room")
    touches.sort()
    rc = random.Random(f"{cfg.seed}:{p.index}:consider")
    moments = sorted(b.start + timedelta(seconds=rc.randrange(cfg.days * 86400)) for _ in range(cfg.days * 2))
    for m in moments:
        u, store_draw = rc.random(), rc.random()
        lift = 1.0
        for t, ch in touches:
            if m - WINDOW <= t < m:
                lift *= 1.0 + LIFT[ch]
        if u < min(0.9, p.base_rate * lift):
            recent = [ch for t, ch in touches if m - WINDOW <= t < m]
            in_store = store_draw < (0.6 if recent and recent[-1] in ("store_visit", "fitting_room") else 0.25)
            at = m + timedelta(minutes=rc.randrange(1, 30))
            if in_store:
                at = b.opening_hours(at)
            revenue = _convert(b, p, at, rc, in_store)
            if at <= b.end:
                b.truth.conversions += 1
                b.truth.revenue += revenue


def _crm_record(b: Builder, p: Person) -> None:
    """The CRM knows account holders and loyalty members (a member without an account has a CRM
    id of its own); what each record would link, as the loader hashes it, goes to the truth."""
    if not (p.user_id or p.loyalty_id):
        return
    crm_id = p.user_id or f"crm-{p.loyalty_id}"
    b.truth.crm.append(
        {
            "crm_id": crm_id,
            "loyalty_ids": [p.loyalty_id] if p.loyalty_id else [],
            "email": p.email if p.email_hash else None,
            "phone": p.phone,
            "social": [f"{p.social[0]}:{p.social[1]}"] if p.social else [],
            "consent_analytics": p.crm_consent,
        }
    )
    if p.crm_consent:
        ids = [f"crm:{crm_id}"] + ([f"loyalty:{p.loyalty_id}"] if p.loyalty_id else [])
        ids += [f"email:{p.email_hash}"] if p.email_hash else []
        ids += [f"phone:{p.phone_hash}"] if p.phone_hash else []
        ids += [f"social:{p.social[0]}:{p.social[1].lower()}"] if p.social else []
        b.truth.crm_presented.append((p.index, tuple(ids)))


def _invalid(b: Builder, n: int) -> None:
    r = random.Random(f"{b.cfg.seed}:invalid")
    good = [e for e in b.out if e.valid]
    for i in range(n):
        base = orjson.loads(r.choice(good).value)
        kind = i % 6
        reason = (
            "unparseable",
            "unknown_type",
            "schema_violation",
            "implausible_time",
            "too_large",
            "schema_violation",
        )[kind]
        eid = str(uuid.UUID(int=r.getrandbits(128), version=4))
        base["event_id"] = eid
        if kind == 0:
            value = b'{"event_id": "' + eid.encode() + b'", "type": "page_view", '  # truncated JSON
        elif kind == 1:
            base["type"] = "teleport"
            value = orjson.dumps(base)
        elif kind == 2:
            base.pop("occurred_at", None)
            value = orjson.dumps(base)
        elif kind == 3:
            base["occurred_at"] = (b.end + timedelta(days=30)).isoformat()
            base.pop("sent_at", None)
            value = orjson.dumps(base)
        elif kind == 4:
            base["properties"] = {"blob": "x" * 70_000}
            value = orjson.dumps(base)
        else:
            base["identities"] = {"email_hash": "not-a-hash"}
            value = orjson.dumps(base)
        ts = int(b.end.timestamp() * 1000) - r.randrange(1, 3_600_000)
        b.out.append(
            Emitted(
                base.get("channel", "web") if isinstance(base.get("channel"), str) else "web",
                value,
                ts,
                False,
                eid,
                reason,
            )
        )


def simulate(cfg: SimConfig) -> Simulation:
    b = Builder(cfg)
    spots = _brand_events(b)
    people = []
    for i in range(cfg.persons):
        person = make_person(i, cfg.seed, cfg.pepper, DAILY, cfg.linkage)
        _person(b, person, spots)
        _crm_record(b, person)
        people.append(person)
    if cfg.hostile:
        from streams.simulate.hostile import add_hostile

        add_hostile(b, people)
    n_invalid = int(len(b.out) * cfg.invalid_share)
    if n_invalid:
        _invalid(b, n_invalid)
    b.out.sort(key=lambda e: e.timestamp_ms)
    b.truth.revenue = round(b.truth.revenue, 2)
    return Simulation(cfg, b.truth, b.out)
