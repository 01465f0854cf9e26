"""Requests to a running pipeline, sent through its topics: an erasure is queued on the identity
links topic, carried out by the identity stage (the single writer), and confirmed in the store."""

from __future__ import annotations

import time
import uuid
from typing import Any

from kafka.errors import KafkaError

from streams.errors import PublishError, TransientError
from streams.identity.erasure import control_message
from streams.ingest.publisher import Publisher
from streams.read import open_reader
from streams.settings import Settings


def request_erasure(settings: Settings, key: str, *, timeout: float = 120.0) -> dict[str, Any]:
    """Queue an erasure through the identity topic and wait for the identity stage's record."""
    erasure_id = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    with Publisher(settings, timeout_s=timeout) as pub:  # the whole wait is ``timeout``, Kafka's included
        sent = pub.publish_control(control_message(key, erasure_id))
        try:
            sent.get(timeout=max(1.0, deadline - time.monotonic()))
        except KafkaError as err:
            raise PublishError(f"the erasure request did not reach Kafka at {settings.kafka_bootstrap}: {err}") from err
    reader = open_reader(settings)
    while time.monotonic() < deadline:
        rows = reader.query(
            "SELECT erasure_id, person_id, rows_deleted FROM erasures FINAL WHERE erasure_id = {e:String}",
            {"e": erasure_id},
        )
        if rows:
            return rows[0]
        time.sleep(0.5)
    raise TransientError(
        f"no confirmation within {timeout:.0f} s; erasure {erasure_id} is queued and runs when a worker consumes it"
    )
