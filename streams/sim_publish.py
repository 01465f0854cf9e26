"""Publish a simulation: valid events through the validating publisher, deliberately bad
ones as raw bytes, each with its simulated arrival time as the Kafka record timestamp."""

from __future__ import annotations

import orjson

from streams.ingest.publisher import Publisher
from streams.settings import Settings
from streams.simulate import Simulation


def publish_simulation(sim: Simulation, settings: Settings, *, progress: bool = False) -> int:
    from tqdm import tqdm

    records = sim.emitted
    with Publisher(settings) as pub:
        for e in tqdm(records, unit="ev", desc="publishing", disable=not progress):
            if e.valid:
                pub.publish(orjson.loads(e.value), timestamp_ms=e.timestamp_ms)
            else:
                pub.publish_raw(e.channel, e.value, key=e.event_id.encode(), timestamp_ms=e.timestamp_ms)
    return len(records)
