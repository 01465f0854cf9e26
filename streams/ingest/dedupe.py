"""A bounded window of recently seen event_ids, per worker.

It catches redeliveries and client retries early; ClickHouse's ReplacingMergeTree on
event_id is the backstop after a restart or beyond the window. The window remembers a
digest of each body so a *different* event reusing an id is refused, not silently dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum


class Seen(Enum):
    NEW = 0
    DUPLICATE = 1
    CONFLICT = 2


class DedupeWindow:
    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[int, int] = OrderedDict()  # event_id (UUID as int) → body digest

    def check(self, event_id: int, digest: int) -> Seen:
        prev = self._seen.get(event_id)
        if prev is None:
            self._seen[event_id] = digest
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return Seen.NEW
        return Seen.DUPLICATE if prev == digest else Seen.CONFLICT

    def __len__(self) -> int:
        return len(self._seen)
