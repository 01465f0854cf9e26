"""A Faust agent that does nothing but count: how fast Faust's per-event path drains a topic.

Run as a subprocess by ``bench.pipeline`` beside the bare aiokafka consumer, on the same topics;
it is why the worker's ingest stage reads fetches from aiokafka instead of a Faust stream.
Environment: NOOP_BOOTSTRAP, NOOP_TOPICS (comma-separated), NOOP_EXPECTED, NOOP_RESULT (file),
NOOP_DATADIR (Faust's data directory; by default Faust makes one in the working directory).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import faust

_EXPECTED = int(os.environ.get("NOOP_EXPECTED", "0"))
app = faust.App(
    f"noop-{uuid.uuid4().hex[:6]}",
    broker="kafka://" + os.environ.get("NOOP_BOOTSTRAP", "localhost:9092"),
    store="memory://",
    datadir=os.environ.get("NOOP_DATADIR", "noop-data"),
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    broker_max_poll_records=10_000,
    stream_buffer_maxsize=50_000,
    topic_allow_declare=False,
)
topic = app.topic(
    *os.environ.get("NOOP_TOPICS", "none").split(","),
    value_type=bytes,
    key_type=bytes,
    value_serializer="raw",
    key_serializer="raw",
)
_state: dict[str, Any] = {"n": 0, "t0": None}


@app.agent(topic)
async def count(stream: Any) -> None:
    async for events in stream.take_events(10_000, within=0.5):
        if _state["t0"] is None:
            _state["t0"] = time.perf_counter()
        _state["n"] += len(events)
        if _state["n"] >= _EXPECTED:
            rate = _state["n"] / (time.perf_counter() - _state["t0"])
            with open(os.environ["NOOP_RESULT"], "w") as f:
                f.write(str(rate))
            os._exit(0)  # measured; nothing to clean up in a throwaway group


if __name__ == "__main__":
    app.main()
