"""Attacks on a real worker's HTTP endpoints: escaping the read-only SQL guard, bodies that lie
about their length, keys that are not UTF-8, a write key used for another channel, secrets in
logs. Each attempt goes through the real endpoint, the real broker and the real store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.ingest.publisher import Publisher
from tests.conftest import event
from tests.integration.conftest import Stack, start_stack
from tests.store.escapes import ESCAPES

pytestmark = pytest.mark.integration
CAP = 1_000_000
WEB_KEY, STORE_KEY = "k-web-0123456789", "k-store-9876543210"
PEPPER = os.environ["PARCOURS_PII_PEPPER"]  # tests/conftest.py sets it


@pytest.fixture(scope="module")
def sec(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("security")
    stack = start_stack(
        kafka,
        root,
        PARCOURS_WRITE_KEYS=orjson.dumps({"web": WEB_KEY, "store-paris": STORE_KEY}).decode(),
        PARCOURS_COLLECTOR_MAX_BODY=str(CAP),
        PARCOURS_COLLECTOR_READ_TIMEOUT_S="2",
        PARCOURS_ADMIN_QUERY_TIMEOUT_S="2",
        PARCOURS_ADMIN_QUERY_MAX_ROWS="1000",
    )
    try:
        yield stack
    finally:
        stack.worker.stop()


def _http(stack: Stack, path: str, body: bytes, auth: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": auth} if auth else {}
    req = urllib.request.Request(f"http://127.0.0.1:{stack.worker.port}{path}", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read())


def sql(stack: Stack, query: str) -> tuple[int, dict[str, Any]]:
    token = stack.settings.admin_token.get_secret_value()  # type: ignore[union-attr]
    return _http(stack, "/v1/sql", orjson.dumps({"sql": query}), f"Bearer {token}")


def test_every_escape_attempt_is_refused_through_the_real_endpoint(sec: Stack) -> None:
    before = sec.rows("SELECT count() AS n FROM events")
    tables = {r["name"] for r in sec.rows("SELECT name FROM system.tables WHERE database = currentDatabase()")}
    for attempt in ESCAPES:
        status, answer = sql(sec, attempt)
        assert status == 400, (attempt, answer)
        assert answer["error"] in ("refused", "query"), (attempt, answer)
        assert PEPPER not in orjson.dumps(answer).decode()
    assert sec.rows("SELECT count() AS n FROM events") == before
    assert {r["name"] for r in sec.rows("SELECT name FROM system.tables WHERE database = currentDatabase()")} == tables
    assert not Path("/tmp/parcours-escape.txt").exists()


def test_comments_cannot_lift_read_only(sec: Stack) -> None:
    for tail in (" --", " #", " -- SETTINGS readonly = 0", " /* x */"):
        status, answer = sql(sec, "SELECT getSetting('readonly') AS r" + tail)
        # refused, or run read-only: never with readonly lifted
        assert status == 400 or answer["rows"] == [{"r": 1}], (tail, answer)
        if tail != " #":  # not a comment to ClickHouse: a syntax error
            assert status == 200, (tail, answer)


def test_reads_that_belong_there_still_work(sec: Stack) -> None:
    status, answer = sql(sec, "SELECT count() AS n FROM events WHERE type = 'page_view'")
    assert status == 200 and list(answer["rows"][0]) == ["n"]
    status, answer = sql(sec, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'events'")
    assert status == 200 and answer["rows"] == [{"name": "events"}]


def test_admin_queries_are_bounded_and_do_not_stall_ingestion(sec: Stack) -> None:
    status, answer = sql(sec, "SELECT number FROM system.one ARRAY JOIN range(5000) AS number")
    assert status == 400 and "Limit for result exceeded" in answer["message"]
    slow: dict[str, Any] = {}

    def run_slow() -> None:
        t0 = time.monotonic()
        slow["answer"] = sql(
            sec,
            # ~2e10 rows in little memory: no machine finishes it within the bound
            "SELECT count() AS n, sum(cityHash64(a.name, b.name, c.name)) AS h "
            "FROM system.columns AS a, system.columns AS b, system.columns AS c",
        )
        slow["took"] = time.monotonic() - t0

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    e = event("page_view")
    with Publisher(sec.settings) as pub:
        pub.publish(e)
    sec.wait(timeout=60)
    thread.join(60)
    status, answer = slow["answer"]
    assert status == 400 and "Timeout exceeded" in answer["message"]
    assert slow["took"] < 10  # the bound is 2 s
    [row] = sec.rows("SELECT count() AS n FROM events WHERE event_id = {id:UUID}", id=e["event_id"])
    assert row["n"] == 1


def _raw_request(stack: Stack, head: bytes, body: bytes, *, wait_s: float = 15) -> bytes:
    with socket.create_connection(("127.0.0.1", stack.worker.port), timeout=wait_s) as s:
        s.sendall(head + body)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunk:
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def collect(stack: Stack, body: bytes, key: str = WEB_KEY) -> tuple[int, dict[str, Any]]:
    return _http(stack, "/v1/collect", body, f"Bearer {key}")


def _padded_batch(size: int) -> tuple[bytes, list[str]]:
    """A valid batch of web events whose body is exactly ``size`` bytes (JSON allows trailing blanks)."""
    events, body = [], b"[]"
    while True:
        e = event("search", properties={"query": "q" * 900})
        candidate = orjson.dumps([*events, e])
        if len(candidate) > size or len(events) >= 500:
            break
        events.append(e)
        body = candidate
    return body + b" " * (size - len(body)), [str(e["event_id"]) for e in events]


def test_batches_up_to_the_cap_are_read_whole(sec: Stack) -> None:
    sizes = {"1 KB": 1000, "500 KB": 500_000, "cap-1": CAP - 1, "cap": CAP}
    sent: list[str] = []
    for label, size in sizes.items():
        body, ids = _padded_batch(size)
        assert len(body) == size
        status, answer = collect(sec, body)
        assert status == 200 and answer["accepted"] == len(ids) and answer["rejected"] == 0, (label, answer)
        sent += ids
    over, _ = _padded_batch(CAP)
    status, answer = collect(sec, over + b" ")
    assert status == 413 and answer["error"] == "too_large"
    sec.wait()
    [n] = sec.rows("SELECT count() AS n FROM events_dedup WHERE event_id IN {ids:Array(UUID)}", ids=sent)
    assert n["n"] == len(sent)


def test_a_body_shorter_than_its_length_is_not_processed(sec: Stack) -> None:
    e = event("page_view")
    payload = orjson.dumps([e])
    head = (
        f"POST /v1/collect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WEB_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 999999\r\n\r\n"
    ).encode()
    t0 = time.monotonic()
    answer = _raw_request(sec, head, payload)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - t0 >= 1.5  # it waited for the rest, then gave up
    sec.wait()
    assert sec.rows("SELECT count() AS n FROM events WHERE event_id = {id:UUID}", id=e["event_id"]) == [{"n": 0}]


def test_a_non_utf8_authorization_is_401_on_every_endpoint(sec: Stack) -> None:
    for path in ("/v1/collect", "/v1/sql"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n".encode()
            + b"Authorization: Bearer "
            + b"k-\xff\xfe\xfa"
            + b"\r\n\r\n"
        )
        answer = _raw_request(sec, head, b"[]")
        assert answer.startswith(b"HTTP/1.1 401"), (path, answer[:200])


def test_a_write_key_is_bound_to_its_channels(sec: Stack) -> None:
    purchase = event("pos_purchase")
    status, answer = collect(sec, orjson.dumps([purchase]), WEB_KEY)
    assert status == 200 and answer["results"][0]["reason"] == "channel_not_allowed"
    assert collect(sec, orjson.dumps([purchase]), STORE_KEY)[1]["accepted"] == 1


def test_malformed_requests_never_log_a_secret(sec: Stack) -> None:
    token = sec.settings.admin_token.get_secret_value()  # type: ignore[union-attr]
    heads = [
        f"POST /v1/collect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WEB_KEY}\r\nBad Header\x01: v\r\n\r\n",
        f"POST /v1/sql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: abc\r\n\r\n",
        f"POST /v1/collect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {STORE_KEY}\x00\r\nContent-Length: 2\r\n\r\n[]",
        f"GARBAGE\x7f /v1/collect HTTP/9\r\nAuthorization: Bearer {WEB_KEY}\r\n\r\n",
    ]
    for head in heads:
        _raw_request(sec, head.encode(), b"", wait_s=5)
    time.sleep(1)
    log = sec.worker.log_path.read_text(errors="replace")
    for secret in (WEB_KEY, STORE_KEY, token):
        assert secret not in log


def test_a_missing_or_wrong_admin_token_is_named_as_such(sec: Stack) -> None:
    body = orjson.dumps({"sql": "SELECT 1"})
    for path in ("/v1/sql", "/v1/attribution/run"):
        assert _http(sec, path, body, None) == (401, {"error": "unauthorized", "message": "admin token required"})
        assert _http(sec, path, body, "Bearer not-the-token") == (
            401,
            {"error": "unauthorized", "message": "wrong admin token"},
        )
    env = {**sec.worker.env, "PARCOURS_ADMIN_TOKEN": "not-the-token"}
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli", "sql", "SELECT 1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1 and "wrong admin token" in out.stderr and "Traceback" not in out.stderr
