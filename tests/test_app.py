"""The worker's shared parts (``streams.app.Worker``): what the stages ask for on the event loop
never waits on the store being opened in another thread."""

from __future__ import annotations

import threading
import time

from streams.app import Worker
from streams.settings import Settings


def test_the_erasures_do_not_wait_while_the_store_opens() -> None:
    w = Worker(Settings())
    w._follower = threading.current_thread()  # the erasures topic already followed and read
    w._erasures.ready.set()
    opening = threading.Event()
    release = threading.Event()

    def open_slowly() -> None:
        with w._backend_lock:  # as ``backend()`` holds it while it opens and migrates
            opening.set()
            release.wait(5)

    t = threading.Thread(target=open_slowly)
    t.start()
    opening.wait(5)
    try:
        t0 = time.perf_counter()
        assert w.erasures() is w._erasures
        assert time.perf_counter() - t0 < 0.5
    finally:
        release.set()
        t.join()
