"""Pushing talks to Grafana's HTTP API; here a local stand-in server on loopback answers as
Grafana does, so the real grafana-client code path runs end to end."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from streams.devstack import free_port
from streams.grafana.push import GrafanaRefused, GrafanaUnreachable, push
from streams.grafana.spec import DASHBOARDS


class FakeGrafana(BaseHTTPRequestHandler):
    folders: ClassVar[dict[str, str]] = {}
    versions: ClassVar[dict[str, int]] = {}
    token = "glsa_good"

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self._reply(401, {"message": "invalid API key"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        uid = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/api/folders/") and uid in self.folders:
            self._reply(200, {"uid": uid, "title": self.folders[uid]})
        else:
            self._reply(404, {"message": "folder not found"})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/folders":
            self.folders[body["uid"]] = body["title"]
            self._reply(200, {"uid": body["uid"], "title": body["title"]})
        elif self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            assert body["overwrite"] is True and body["folderUid"] == "parcours"
            self.versions[uid] = self.versions.get(uid, 0) + 1
            self._reply(200, {"uid": uid, "version": self.versions[uid], "url": f"/d/{uid}", "status": "success"})
        else:
            self._reply(404, {"message": "not found"})

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def grafana() -> Iterator[str]:
    FakeGrafana.folders, FakeGrafana.versions = {}, {}
    server = HTTPServer(("127.0.0.1", free_port()), FakeGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_push_is_idempotent_same_uid_new_version(grafana: str) -> None:
    first = push(grafana, "glsa_good")
    second = push(grafana, "glsa_good")
    assert [p.uid for p in first] == sorted(d.uid for d in DASHBOARDS)
    assert all(p.version == 1 for p in first) and all(p.version == 2 for p in second)
    assert FakeGrafana.folders == {"parcours": "Parcours"}


def test_bad_token_is_a_clear_error(grafana: str) -> None:
    with pytest.raises(GrafanaRefused, match="refused the token"):
        push(grafana, "wrong")


def test_unreachable_grafana_is_a_clear_error() -> None:
    with pytest.raises(GrafanaUnreachable, match=r"cannot reach Grafana|did not answer"):
        push(f"http://127.0.0.1:{free_port()}", "glsa_good")
