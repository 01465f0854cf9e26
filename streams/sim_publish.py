"""Publish a simulation: valid events through the validating publisher, deliberately bad
ones as raw bytes, each with its simulated arrival time as the Kafka record timestamp."""

from __future__ import annotations

import orjson

from streams.errors import PublishError
from streams.ingest.publisher import Publisher
from streams.settings import Settings
from streams.simulate import Simulation


def publish_simulation(sim: Simulation, settings: Settings, *, progress: bool = False) -> int:
    """Returns how many records Kafka acknowledged; raises ``PublishError`` if any it did not."""
    from tqdm import tqdm

    records = sim.emitted
    sent = []
    with Publisher(settings) as pub:
        for e in tqdm(records, unit="ev", desc="publishing", disable=not progress):
            if e.valid:
                sent.append(pub.publish(orjson.loads(e.value), timestamp_ms=e.timestamp_ms))
            else:
                sent.append(pub.publish_raw(e.channel, e.value, key=e.event_id.encode(), timestamp_ms=e.timestamp_ms))
    # closing flushed every send: each future is settled, acknowledged or failed
    failed = [f for f in sent if not f.succeeded()]
    if failed:
        first = failed[0].exception if failed[0].is_done else "no answer"
        raise PublishError(f"Kafka acknowledged {len(sent) - len(failed)} of {len(sent)} records; first error: {first}")
    return len(sent)
