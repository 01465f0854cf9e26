"""A local stack for the demo, the tests and the benchmarks: the Maven-resolved Kafka broker
(``deploy/kafka/kafka.sh``) and worker processes. Everything started here is stopped here, by pid."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from streams.errors import ParcoursError
from streams.topics import agents_groups, ingest_group

REPO = Path(__file__).resolve().parents[1]
KAFKA_SCRIPT = Path(os.environ.get("PARCOURS_KAFKA_SCRIPT", REPO / "deploy" / "kafka" / "kafka.sh"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class KafkaBroker:
    state_dir: Path
    bootstrap: str = ""

    def start(self) -> str:
        proc = subprocess.run(
            ["bash", str(KAFKA_SCRIPT), "start", str(self.state_dir)], capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            raise ParcoursError(f"Kafka did not start: {proc.stderr.strip()[-500:]}")
        self.bootstrap = proc.stdout.strip().splitlines()[-1]
        return self.bootstrap

    def stop(self) -> None:
        subprocess.run(["bash", str(KAFKA_SCRIPT), "stop", str(self.state_dir)], capture_output=True, timeout=120)

    def restart(self) -> str:
        """Stop and start again on the same ports and data (fault tests)."""
        proc = subprocess.run(
            ["bash", str(KAFKA_SCRIPT), "restart", str(self.state_dir)], capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            raise ParcoursError(f"Kafka did not restart: {proc.stderr.strip()[-500:]}")
        return self.bootstrap


@dataclass
class StoreServer:
    """``parcours store serve``: one process owns chDB and serves it to several workers."""

    data_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://default:{self.password}@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
        env.update(PARCOURS_DATA_DIR=str(self.data_dir), PARCOURS_ADMIN_TOKEN=self.password)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "store", "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(REPO),
            )
        from streams.store.http import HttpBackend

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ParcoursError(f"store server exited with {self.proc.returncode}; see {self.log_path}")
            probe = HttpBackend(self.url)
            try:
                if probe.query("SELECT count() AS n FROM schema_migrations"):
                    return
            except ParcoursError:
                time.sleep(0.3)
            finally:
                probe.close()
        raise ParcoursError(f"store server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Worker:
    """A ``parcours worker`` process with its own environment."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: BinaryIO | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.env["PARCOURS_WEB_PORT"])

    def start(self, timeout: float = 120) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ParcoursError(f"worker exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/health", timeout=1):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise ParcoursError(f"worker did not answer within {timeout:.0f} s; see {self.log_path}")

    def check_running(self) -> None:
        """Raise if the process has exited (a wait loop must not outlive its worker)."""
        if self.proc is None or self.proc.poll() is not None:
            code = self.proc.returncode if self.proc else None
            raise ParcoursError(f"worker exited with {code}; see {self.log_path}")

    def health(self) -> dict[str, Any]:
        """``GET /v1/health`` (answered with 503 while the store is down: still read)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/health", timeout=10) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:
            return dict(json.loads(err.read()))

    def stop(self, timeout: float = 60) -> int | None:
        try:
            if self.proc is None or self.proc.poll() is not None:
                return self.proc.returncode if self.proc else None
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        finally:
            self._close_log()

    def kill(self) -> None:
        """SIGKILL, as a crash would (fault tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def start_group(
    env: dict[str, str], count: int, root: Path, *, timeout: float = 90, stages: Sequence[str] = ()
) -> list[Worker]:
    """``count`` workers of one consumer group (own ports, data dirs, logs under ``root``),
    returned once each ingest worker owns raw partitions: a backlog published earlier would be
    drained by the first one before the group rebalanced. ``stages``: each worker's
    ``PARCOURS_STAGES`` (all three when empty)."""
    workers = []
    for i in range(count):
        w_env = {
            **env,
            # A port of its own that was free, not the first one + i: that one may be taken
            # (a worker failed to bind in a fresh-clone test run).
            "PARCOURS_WEB_PORT": env["PARCOURS_WEB_PORT"] if i == 0 else str(free_port()),
            "PARCOURS_DATA_DIR": str(root / f"w{i}"),
        }
        if stages:
            w_env["PARCOURS_STAGES"] = stages[i]
        workers.append(Worker(w_env, root / f"worker{i}.log"))
        workers[-1].start()
    ingest = [w for i, w in enumerate(workers) if not stages or "ingest" in stages[i]]
    deadline = time.monotonic() + timeout
    while min(len(w.health()["ingest_partitions"]) for w in ingest) == 0:
        if time.monotonic() > deadline:
            for w in workers:
                w.stop()
            raise ParcoursError(f"workers did not all get raw partitions within {timeout:.0f} s")
        time.sleep(0.5)
    return workers


def worker_env(*, bootstrap: str, data_dir: Path, app_id: str = "parcours", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    if os.environ.get("PARCOURS_PII_PEPPER"):  # the caller's, so that its publisher hashes alike
        env["PARCOURS_PII_PEPPER"] = os.environ["PARCOURS_PII_PEPPER"]
    env.update(
        {
            "PARCOURS_KAFKA_BOOTSTRAP": bootstrap,
            "PARCOURS_DATA_DIR": str(data_dir),
            "PARCOURS_WEB_PORT": str(free_port()),
            "PARCOURS_WEB_HOST": "127.0.0.1",
            "PARCOURS_ADMIN_TOKEN": secrets.token_urlsafe(16),
            "PARCOURS_APP_ID": app_id,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _group_offsets(bootstrap: str, app_id: str, topics: list[str]) -> list[tuple[int, int]]:
    """(end offset, committed offset) per partition of ``topics``, for the workers of ``app_id``:
    raw topics are read by the ingest group, the others by the agents' group of whichever workers
    run them (``topics.agents_group``: all stages in one worker, or split by stage)."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="parcours-lag")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="parcours-lag")
    try:
        tps = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(tps)
        groups = (ingest_group(app_id), *agents_groups(app_id))
        offsets = admin.list_group_offsets({g: None for g in groups})
        out = []
        for tp in tps:
            readers = groups[:1] if ".raw." in tp.topic else groups[1:]
            done = [offsets[g][tp].offset for g in readers if tp in offsets.get(g, {})]
            out.append((ends[tp], max(done, default=0)))
        return out
    finally:
        consumer.close()
        admin.close()


def consumer_lag(bootstrap: str, app_id: str, topics: list[str]) -> int:
    """Messages in ``topics`` not yet committed by the workers of ``app_id`` (uncommitted
    partitions count whole)."""
    return sum(max(0, end - done) for end, done in _group_offsets(bootstrap, app_id, topics))


def consumer_committed(bootstrap: str, app_id: str, topics: list[str]) -> int:
    """Messages in ``topics`` committed by the workers of ``app_id`` since the topics began."""
    return sum(done for _, done in _group_offsets(bootstrap, app_id, topics))


def wait_consumed(
    bootstrap: str, app_id: str, topics: list[str], *, timeout: float = 600, settle: float = 2.0
) -> float:
    """Block until the workers of ``app_id`` have committed everything in ``topics`` twice in a row."""
    started = time.monotonic()
    zero_since: float | None = None
    from kafka.errors import KafkaError

    lag = -1
    while time.monotonic() - started < timeout:
        try:
            lag = consumer_lag(bootstrap, app_id, topics)
        except KafkaError:
            lag = -1  # group coordinator not elected yet (fresh broker): not consumed

        if lag == 0:
            zero_since = zero_since or time.monotonic()
            if time.monotonic() - zero_since >= settle:
                return time.monotonic() - started
        else:
            zero_since = None
        time.sleep(0.5)
    raise ParcoursError(f"still {lag} messages unconsumed after {timeout:.0f} s")
