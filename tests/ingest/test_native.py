"""The native decoder against the reference path: the same stored rows, links and dead letters, or it
steps aside (``streams.ingest.decoder``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common import corpus
from schemas.events import EVENT_TYPES, Reason
from streams import native
from streams.ingest import decoder
from streams.ingest.columns import events_table_or_quarantine
from streams.ingest.normalize import _SCREEN, EVENT_COLUMNS, Normalized, Normalizer, RawItem, _flagged
from streams.settings import Settings
from tests.ingest.test_fuzz import mutated_sample
from tests.samples import SAMPLES

pytestmark = pytest.mark.skipif(not native.AVAILABLE, reason="the native decoder is not built")

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _run(normalizer: Normalizer, payloads: list[bytes], *, batch: int = 1000) -> tuple[Normalized, pa.Table]:
    items = [RawItem(p, f"t/0/{i}", NOW + timedelta(milliseconds=i)) for i, p in enumerate(payloads)]
    out = Normalized()
    for i in range(0, len(items), batch):
        out.extend(normalizer.normalize(items[i : i + batch]))
    table = events_table_or_quarantine(out, normalizer)
    # The last column is the batch's wall-clock ingestion time; rows are compared by event id.
    return out, table.drop_columns(["ingested_at"]).sort_by("event_id")


def _same(payloads: list[bytes], **kw: Any) -> tuple[Normalized, Normalized]:
    a, ta = _run(Normalizer(Settings()), payloads, **kw)
    b, tb = _run(Normalizer(Settings(), native=False), payloads, **kw)
    assert ta.to_pylist() == tb.to_pylist()
    key = lambda link: link["event_id"]  # noqa: E731
    assert sorted(a.links.dicts(), key=key) == sorted(b.links.dicts(), key=key)
    assert [(d.dl_id, d.reason, d.detail, d.payload) for d in a.dead] == [
        (d.dl_id, d.reason, d.detail, d.payload) for d in b.dead
    ]
    assert a.duplicates == b.duplicates
    return a, b


def _native_rows(out: Normalized) -> int:
    return sum(t.num_rows for t in out.native)


def _sample(etype: str, **over: Any) -> dict[str, Any]:
    return {**SAMPLES[etype], "event_id": str(uuid.uuid4()), **over}


@pytest.mark.parametrize("batch", [1000, 4000])  # 4000, the worker's slice, is read on two threads
def test_the_simulated_corpus_takes_the_native_path_and_stores_the_same_rows(batch: int) -> None:
    payloads = corpus(6000, persons=400)
    payloads += payloads[:300]  # redeliveries: the dedupe window sees native and reference rows alike
    a, _ = _same(payloads, batch=batch)
    assert a.duplicates == 300
    assert _native_rows(a) > 0.95 * len(a)
    assert len(a.links) > 1000


@pytest.mark.parametrize("threads", [2, 3])
def test_a_batch_read_on_several_threads_decodes_exactly_as_on_one(threads: int) -> None:
    # Runs joined in order: rows, flags and group numbers (first appearance) as one thread reads them.
    payloads = corpus(5000, persons=300)
    payloads[1234] = b"{not json"  # a payload left to the reference path, inside the second run
    arrived = [1_772_452_800_000_000 + i for i in range(len(payloads))]
    decoder = Normalizer(Settings())._native
    assert decoder is not None
    one = decoder._d.decode(payloads, arrived, threads=1)
    several = decoder._d.decode(payloads, arrived, threads=threads)
    columns = [pa.RecordBatch._import_from_c_capsule(*r.pop("columns")) for r in (one, several)]
    assert several == one
    assert columns[0].equals(columns[1]) and columns[0].num_rows == one["rows"]
    assert one["native"][1234] == 0 and sum(one["native"]) == one["rows"] > 0.95 * len(payloads)
    assert len(one["id_groups"]) > 300


def test_every_event_type_is_read_natively_unless_the_pii_screen_flags_it() -> None:
    payloads = [orjson.dumps(_sample(t)) for t in sorted(EVENT_TYPES)]
    a, _ = _same(payloads)
    flagged = _flagged(payloads)
    assert sum(flagged) == 1  # the mention's "@brand": scrubbed, then read by the reference path
    assert _native_rows(a) == len(payloads) - 1 and len(a) == len(payloads)


@pytest.mark.parametrize(
    "change",
    [
        {"identities": {"anonymous_id": "  ck-abc123  "}},  # pydantic strips
        {"identities": {"anonymous_id": "ck-\u00e9t\u00e9"}},  # non-ASCII: characters, not bytes
        {"identities": {"anonymous_id": "ck-\\u0041"}},  # an escape
        {"identities": {"anonymous_id": "ck-1\u00a0"}},  # a non-breaking space is stripped
        {"identities": {"anonymous_id": "   "}},  # empty once stripped: refused
        {"occurred_at": "2026-03-02 10:00:00Z"},
        {"event_id": "6f9619ff8b86d011b42d00c04fc964ff"},
        {"context": {"page_url": "https://x"}, "properties": {"title": "NaN"}},
        {"occurred_at": "2026-03-02T10:00Z"},
        {"occurred_at": "2026-03-02T10:00:00.1234567Z"},
        {"occurred_at": "2026-02-30T10:00:00Z"},
        {"occurred_at": "1999-12-31T23:59:59Z"},  # before EARLIEST: refused, named by the reference path
        {"occurred_at": "2026-03-03T12:00:00Z"},  # in the future
        {"sent_at": "2020-01-01T00:00:00Z"},  # a skew beyond any correction
        {"event_id": "6F9619FF-8B86-D011-B42D-00C04FC964FF"},
        {"schema_version": 2},
        {"schema_version": 1.0},
        {"type": "teleport"},
        {"channel": "tv"},
        {"properties": {"title": "x", "extra": [1, {"a": None}]}},
        {"consent": {"analytics": False}},
        {"context": {"device_kind": "mirror"}, "identities": {"device_id": "mirror-01", "anonymous_id": "ck-abc123"}},
    ],
)
def test_what_the_native_path_leaves_or_reads_is_what_the_reference_path_stores(change: dict[str, Any]) -> None:
    raw = orjson.dumps(_sample("page_view", **change)).replace(b"\\\\u", b"\\u")
    _same([raw])


@pytest.mark.parametrize(
    ("etype", "props"),
    [
        ("order_completed", {"revenue": 1e-5}),  # Python writes 1e-05: the native path steps aside
        ("order_completed", {"revenue": 1e15}),
        ("order_completed", {"revenue": 12}),  # an integer in a float field is written 12.0
        ("order_completed", {"revenue": 0.1 + 0.2}),
        ("order_completed", {"revenue": 2**53 + 1}),
        ("order_completed", {"revenue": -0.0}),
        ("loyalty_scan", {"b": "2", "a": "1"}),  # a free-form dict keeps its order
    ],
)
def test_numbers_and_free_form_properties_are_written_as_the_reference_path_writes_them(
    etype: str, props: dict[str, Any]
) -> None:
    ev = _sample(etype)
    ev["properties"] = {**ev.get("properties", {}), **props} if etype != "loyalty_scan" else props
    _same([orjson.dumps(ev)])


def test_integers_in_free_form_properties_are_written_as_python_writes_them() -> None:
    # The native path copies an integer's token: right for every i64 spelling JSON allows but "-0".
    for dwell, written in ((b"-0", 0), (b"0", 0), (b"86400", 86_400)):
        ev = _sample("store_visit")
        ev["properties"] = {**ev.get("properties", {}), "dwell_s": 12345}
        a, _ = _same([orjson.dumps(ev).replace(b'"dwell_s":12345', b'"dwell_s":' + dwell)])
        assert _native_rows(a) == 1
        assert orjson.loads(a.native[0].column("properties")[0].as_py())["dwell_s"] == written


def test_a_store_event_without_a_store_is_left_to_the_reference_path_which_names_it() -> None:
    ev = _sample("item_tried")
    ev["context"] = {**ev["context"], "store_id": None}
    a, _ = _same([orjson.dumps(ev)])
    assert [(d.reason, "store_id" in d.detail) for d in a.dead] == [(Reason.SCHEMA_VIOLATION.value, True)]


def test_a_repeated_key_is_left_to_the_reference_path() -> None:
    raw = orjson.dumps(_sample("page_view")).replace(b'"type":', b'"type":"like","type":', 1)
    a, _ = _same([raw])
    assert _native_rows(a) == 0


def test_a_conflicting_duplicate_is_refused_whichever_path_read_the_first() -> None:
    first = _sample("like")
    same_id = {**_sample("search"), "event_id": first["event_id"]}
    unicode_twin = {**first, "properties": {**first.get("properties", {}), "text": "\u00e9"}}
    for pair in ([first, same_id], [unicode_twin, first], [first, unicode_twin]):
        a, _ = _same([orjson.dumps(e) for e in pair])
        assert [d.reason for d in a.dead] == ["conflicting_duplicate"]


class _Panic(BaseException):
    """What a panic in Rust arrives as (pyo3's PanicException derives from BaseException)."""


@pytest.mark.parametrize("failure", [RuntimeError("simulated"), _Panic("simulated")], ids=["error", "panic"])
def test_a_native_failure_falls_back_to_the_reference_path(
    monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    def broken(self: decoder.NativeDecoder, payloads: list[bytes], arrived_us: list[int]) -> decoder.Decoded:
        raise failure

    monkeypatch.setattr(decoder.NativeDecoder, "decode", broken)
    a, _ = _same(corpus(300, persons=50))
    assert _native_rows(a) == 0 and len(a) > 250


def test_a_failure_after_native_decoding_turns_those_events_into_dead_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    n = Normalizer(Settings())

    def broken(*a: Any, **kw: Any) -> None:
        raise KeyError("simulated bug")

    monkeypatch.setattr(n, "_emit_native", broken)
    payloads = corpus(50, persons=10)
    out = n.normalize([RawItem(p, f"t/0/{i}", NOW) for i, p in enumerate(payloads)])
    assert len(out) + len(out.dead) == len(payloads) and not out.native
    assert {d.reason for d in out.dead} == {"processing_error"}
    assert sorted(d.payload for d in out.dead) == sorted(p for p in payloads if p in {d.payload for d in out.dead})


@given(st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_mutated_events_read_the_same_on_both_paths(data: st.DataObject) -> None:
    _same([orjson.dumps(mutated_sample(data), option=orjson.OPT_NON_STR_KEYS)])


money = st.floats(min_value=0, max_value=1e9, allow_nan=False) | st.integers(0, 10**9)
texts = st.text(max_size=40) | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@given(
    st.sampled_from(sorted(EVENT_TYPES)),
    st.dictionaries(
        st.sampled_from(["sku", "skus", "price", "revenue", "cost", "spend", "network", "post_id", "spot_id"]),
        money | texts | st.lists(texts, max_size=3),
        max_size=4,
    ),
    st.dictionaries(
        st.sampled_from(["anonymous_id", "user_id", "device_id", "loyalty_id", "email_hash", "crm_verified"]),
        texts | st.booleans(),
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["utm_medium", "utm_source", "referrer", "device_kind", "store_id"]), texts, max_size=3
    ),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_random_field_values_read_the_same_on_both_paths(
    etype: str, props: dict[str, Any], ids: dict[str, Any], ctx: dict[str, Any]
) -> None:
    ev = _sample(etype)
    ev["properties"] = {**(ev.get("properties") or {}), **props}
    ev["identities"] = {**(ev.get("identities") or {}), **ids}
    ev["context"] = {**(ev.get("context") or {}), **ctx}
    _same([orjson.dumps(ev)])


_TRIGGERS = [b'"email" :', b'"phone"\x0b:', b'"email"x:', b"@", b"\\", b"\xc3\xa9", b'" x', b'x "', b"\x80", b'"a":"b"']


@given(
    st.lists(st.binary(max_size=40) | st.text(max_size=20).map(str.encode) | st.sampled_from(_TRIGGERS), max_size=12)
)
@settings(max_examples=300, deadline=None)
def test_the_native_screen_flags_exactly_what_the_python_screen_flags(parts: list[bytes]) -> None:
    payloads = [b"".join(parts[:i]) for i in range(len(parts) + 1)]
    # _SCREEN itself takes the hand-written scanner; the same pattern spelled otherwise, the regex.
    for screen in (_SCREEN, f"(?:{_SCREEN})"):
        decoded = decoder.NativeDecoder(Settings(), screen=screen).decode(payloads, [0] * len(payloads))
        assert decoded.flagged.tolist() == _flagged(payloads), screen


def test_the_python_screen_is_the_one_the_native_decoder_scans_by_hand() -> None:
    # Otherwise every payload goes through a regex (~9% of decoding) and the speed drops silently.
    assert decoder.NativeDecoder(Settings(), screen=_SCREEN)._d.hand_screen
    assert not decoder.NativeDecoder(Settings(), screen=f"(?:{_SCREEN})")._d.hand_screen


def test_a_reference_row_the_store_refuses_is_quarantined_beside_native_rows() -> None:
    n = Normalizer(Settings())
    payloads = [orjson.dumps(_sample(t)) for t in ("mention", "like", "page_view")]  # mention: "@", reference path
    out = n.normalize([RawItem(p, f"raw/0/{i}", NOW) for i, p in enumerate(payloads)])
    assert len(out.columns[0]) == 1 and _native_rows(out) == 2
    out.columns[EVENT_COLUMNS.index("schema_version")][0] = 70_000  # past UInt16: Arrow refuses it
    table = events_table_or_quarantine(out, n)
    assert table.num_rows == 2 and len(out) == 2
    assert [(d.reason, d.payload) for d in out.dead] == [("processing_error", payloads[0])]


def test_an_object_with_thousands_of_keys_is_left_to_the_reference_path() -> None:
    # Keys are found by scanning: linear for an event's dozen, quadratic for a hostile thousand.
    ev = _sample("page_view")
    ev["properties"] = {**ev.get("properties", {}), **{f"k{i}": i for i in range(3000)}}
    a, _ = _same([orjson.dumps(ev)])
    assert _native_rows(a) == 0 and len(a) == 1


def test_identifier_guards_decide_alike_on_both_paths() -> None:
    """Junk values in every spelling the guard knows, junk hashes, a shared device, social handles
    in capitals and with a leading @ (the screen sends those to the reference path), a verified
    CRM id that is junk: the same identifiers, refusals and links on both paths."""
    from streams.identity.pii import junk_hashes

    junk_hash = sorted(junk_hashes(Settings().pepper()))[0]
    variants: list[dict[str, Any]] = [
        {"anonymous_id": "NULL", "user_id": "crm-1"},
        {"anonymous_id": "Undefined", "user_id": "ab"},
        {"anonymous_id": "zzzzzz", "email_hash": junk_hash},
        {"anonymous_id": "ck-1", "user_id": "n/a", "crm_verified": True},
        {"anonymous_id": "ck-2", "user_id": "crm-2", "crm_verified": True, "loyalty_id": "LOY-9"},
        {"anonymous_id": "ck-3", "device_id": "mirror-1"},
        {"anonymous_id": "ck-4", "social": {"network": "instagram", "handle": "Ana_Style"}},
        {"anonymous_id": "ck-5", "social": {"network": "tiktok", "handle": "@ana"}},
        {"anonymous_id": "ck-6", "social": {"network": "x", "handle": "aa"}},
        {"anonymous_id": "[object Object]", "user_id": "crm-7"},
    ]
    payloads = []
    for ids in variants:
        for etype in ("page_view", "mirror_interaction"):  # the mirror is a shared device
            payloads.append(orjson.dumps({**_sample(etype), "identities": ids}))
    a, _ = _same(payloads)
    assert _native_rows(a) >= len(payloads) - 4  # the handle with @ (and its pair) go the reference way
    reasons = {r for link in a.links.dicts() for _, r in link["refused"]}
    assert reasons == {"refused_junk", "refused_shared_device"}


def test_both_paths_digest_an_events_content_alike() -> None:
    """The dedupe digest: the native decoder's, over the events it reads, equals the reference
    path's (``fingerprint.content_digest``) — so a retry is recognised whichever path read each copy."""
    from streams.ingest.fingerprint import content_digest

    payloads = corpus(2000, persons=200)
    arrived = int(datetime(2026, 3, 9, tzinfo=UTC).timestamp() * 1e6)  # after the corpus' week
    decoded = decoder.NativeDecoder(Settings(), screen=_SCREEN).decode(payloads, [arrived] * len(payloads))
    read = [p for p, n in zip(payloads, decoded.native.tolist(), strict=True) if n]
    assert len(read) > 1500
    digests = memoryview(decoded.digests).cast("I").tolist()
    key = Settings().pepper().encode()
    assert digests == [content_digest(p, key) for p in read]


@pytest.mark.parametrize("native_path", [True, False], ids=["native", "reference"])
def test_a_retry_written_differently_is_a_duplicate_and_new_content_a_conflict(native_path: bool) -> None:
    first = _sample("order_completed", sent_at="2026-03-02T11:59:59Z")
    reordered = orjson.dumps(dict(reversed(list(first.items()))))
    resent = orjson.dumps({**first, "sent_at": "2026-03-02T12:00:05Z"}, option=orjson.OPT_INDENT_2)
    changed = orjson.dumps({**first, "properties": {**first["properties"], "revenue": 9999.0}})
    upper = orjson.dumps({**first, "event_id": first["event_id"].upper()})
    out, _ = _run(Normalizer(Settings(), native=native_path), [orjson.dumps(first), reordered, resent, upper, changed])
    assert out.duplicates == 3
    assert [d.reason for d in out.dead] == ["conflicting_duplicate"]
