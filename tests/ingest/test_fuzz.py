"""Property-based tests: whatever arrives, nothing crashes and nothing is lost — every input
is a stored row, a dropped exact duplicate, or a dead letter with a typed reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from schemas.events import InvalidEvent, Reason, parse_event
from streams.identity.pii import scrub_payload
from streams.ingest.collector import Collector
from streams.ingest.normalize import Normalizer, RawItem, _flagged
from streams.settings import Settings
from tests.samples import SAMPLES

REASONS = {r.value for r in Reason}
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def mutated_sample(data: st.DataObject) -> dict[str, object]:
    etype = data.draw(st.sampled_from(sorted(SAMPLES)))
    ev = {**SAMPLES[etype], "event_id": str(uuid.uuid4())}
    key = data.draw(
        st.sampled_from(
            [
                "occurred_at",
                "identities",
                "properties",
                "context",
                "channel",
                "type",
                "event_id",
                "consent",
                "schema_version",
                "sent_at",
            ]
        )
    )
    ev[key] = data.draw(
        json_values
        | st.sampled_from(
            [
                "9999-12-31T23:59:59Z",
                "1970-01-01T00:00:00Z",
                "2026-03-02T10:00:00",
                "x" * 100_000,
                [1] * 10_000,
                -1,
                2**62,
                {"network": "x" * 5000, "handle": ""},
            ]
        )
    )
    return ev


@given(st.binary(max_size=2000))
def test_random_bytes_only_ever_get_a_typed_rejection(raw: bytes) -> None:
    try:
        parse_event(raw)
    except InvalidEvent as rej:
        assert rej.reason.value in REASONS


@given(st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_events_are_parsed_or_refused_with_a_reason(data: st.DataObject) -> None:
    try:
        parse_event(orjson.dumps(mutated_sample(data)))
    except InvalidEvent as rej:
        assert rej.reason.value in REASONS and rej.detail


@given(st.integers(min_value=1, max_value=100_000))
def test_deep_nesting_is_refused_not_a_crash(depth: int) -> None:
    raw = b'{"type": "like", "properties": ' + b"[" * depth + b"]" * depth + b"}"
    try:
        parse_event(raw)
    except InvalidEvent as rej:
        assert rej.reason in (Reason.UNPARSEABLE, Reason.SCHEMA_VIOLATION, Reason.TOO_LARGE)


@given(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"]), st.sampled_from(sorted(SAMPLES)))
def test_wrong_encodings(encoding: str, etype: str) -> None:
    text = orjson.dumps({**SAMPLES[etype], "event_id": str(uuid.uuid4()), "note": "déjà vu"}).decode()
    try:
        parse_event(text.encode(encoding))
    except InvalidEvent as rej:
        assert rej.reason is Reason.UNPARSEABLE


@given(st.data())
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_normalizer_accounts_for_every_input(data: st.DataObject) -> None:
    payloads: list[bytes] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=30))):
        kind = data.draw(st.integers(0, 3))
        if kind == 0:
            payloads.append(data.draw(st.binary(max_size=300)))
        elif kind == 1:
            payloads.append(orjson.dumps(mutated_sample(data)))
        elif kind == 2 and payloads:
            payloads.append(data.draw(st.sampled_from(payloads)))  # exact duplicate
        else:
            ev = {**SAMPLES["like"], "event_id": str(uuid.uuid4())}
            payloads.append(orjson.dumps(ev))
            payloads.append(orjson.dumps({**ev, "properties": {"post_id": "other", "network": "x"}}))  # same id
    out = Normalizer(Settings()).normalize(RawItem(p, f"t/0/{i}", NOW) for i, p in enumerate(payloads))
    assert len(out.rows) + len(out.dead) + out.duplicates == len(payloads)
    assert all(d.reason in REASONS and d.payload is not None for d in out.dead)
    assert len({r["event_id"] for r in out.rows}) == len(out.rows)


collector = Collector(
    Settings(write_keys={"web": SecretStr("k-fuzz-123")}, collector_max_body=20_000, collector_rate_per_s=1e9)
)


TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=12, max_size=40)


@given(
    st.one_of(st.none(), st.text(max_size=40), TOKENS.map(lambda t: f"Bearer {t}")),
    st.binary(max_size=25_000),
    st.none() | st.integers(0, 10**7),
)
@settings(max_examples=300)
def test_collector_never_crashes_and_never_echoes_secrets(auth: str | None, body: bytes, length: int | None) -> None:
    r = collector.collect(auth, length, body)
    assert r.status in (200, 400, 401, 413, 429)
    if auth and auth.startswith("Bearer ") and len(auth) > 19:
        assert auth.removeprefix("Bearer ") not in orjson.dumps(r.body).decode()


@given(st.lists(json_values, max_size=20))
@settings(max_examples=200)
def test_collector_batches_of_anything(items: list[object]) -> None:
    r = collector.collect("Bearer k-fuzz-123", None, orjson.dumps({"batch": items}))
    assert r.status == 200
    assert len(r.accepted) + len(r.dead) == len(items)
    assert all(d.reason in REASONS for d in r.dead)


# Bytes the screen must catch, mixed into otherwise plain JSON text.
_TRIGGERS = ["@", '"email":', '"phone" :', '"email"\v:', '" ', ' "', "\\", "é", "\x7f", '"phone"']


@given(st.lists(st.sampled_from(['{"a":"b"', ",", ":", "1", '"x"', *_TRIGGERS]), max_size=12) | st.binary(max_size=300))
@settings(max_examples=400)
def test_a_payload_the_batch_screen_passes_needs_no_scrub(
    parts: list[str] | bytes,
) -> None:
    payload = parts if isinstance(parts, bytes) else "".join(parts).encode()
    [flagged] = _flagged([payload])
    if not flagged:
        assert scrub_payload(payload, "pepper") == payload


def test_the_batch_screen_flags_what_the_scrub_and_the_decoder_look_for() -> None:
    cases = [b'{"identities":{"email":"a@b.co"}}', b'{"phone"\t: "1"}', b'{"x":"a "}', b'{"x":"\\u00e9"}', "é".encode()]
    assert _flagged([*cases, b'{"context":{"device_kind":"phone"}}']) == [True] * len(cases) + [False]
