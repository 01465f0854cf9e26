"""A bounded window of recently seen event_ids, per worker.

It catches redeliveries and client retries early; ClickHouse's ReplacingMergeTree on
event_id is the backstop after a restart or beyond the window. The window remembers a
digest of each body so a *different* event reusing an id is refused, not silently dropped.

The window lives in the native module (``Window``, a fraction of a Python OrderedDict's memory
an id) and checks a batch in one call. Without the native module (not built) the same window
runs in Python.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum

from streams import native as built


class Seen(Enum):
    NEW = 0
    DUPLICATE = 1
    CONFLICT = 2


_SEEN = (Seen.NEW, Seen.DUPLICATE, Seen.CONFLICT)


def pack(keys: list[int], digests: list[int]) -> tuple[bytes, bytes]:
    """Ids (128-bit ints) and digests (32-bit) as ``check_many`` takes them."""
    return (
        b"".join(k.to_bytes(16, "little") for k in keys),
        b"".join(d.to_bytes(4, "little") for d in digests),
    )


class DedupeWindow:
    def __init__(self, size: int, *, native: bool = True) -> None:
        self._size = size
        self._native = built.Window(size) if native and built.AVAILABLE else None
        self._seen: OrderedDict[int, int] = OrderedDict()  # without the native module

    def check(self, event_id: int, digest: int) -> Seen:
        return _SEEN[self.check_many(*pack([event_id], [digest]))[0]]

    def check_many(self, keys: bytes, digests: bytes) -> bytes:
        """One status per id, in order (``Seen`` values): ``keys`` 16 bytes an id (little-endian),
        ``digests`` 4 bytes each."""
        if self._native is not None:
            return bytes(self._native.check(keys, digests))
        status = bytearray()
        for i in range(len(digests) // 4):
            key = int.from_bytes(keys[16 * i : 16 * i + 16], "little")
            digest = int.from_bytes(digests[4 * i : 4 * i + 4], "little")
            prev = self._seen.get(key)
            if prev is None:
                self._seen[key] = digest
                if len(self._seen) > self._size:
                    self._seen.popitem(last=False)
                status.append(0)
            else:
                status.append(1 if prev == digest else 2)
        return bytes(status)

    def remember(self, keys: bytes, digests: bytes) -> None:
        """Set the digests of ids the store holds (``stored_ids``): later copies are judged against them."""
        if self._native is not None:
            self._native.remember(keys, digests)
            return
        for i in range(len(digests) // 4):
            key = int.from_bytes(keys[16 * i : 16 * i + 16], "little")
            self._seen[key] = int.from_bytes(digests[4 * i : 4 * i + 4], "little")

    def __len__(self) -> int:
        return len(self._native) if self._native is not None else len(self._seen)
