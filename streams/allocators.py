"""How a process that holds the store keeps its resident memory from creeping: two malloc arenas,
and free pages handed back to the system every few seconds.

Why: a worker allocates and frees short-lived objects in volume (each batch's rows, each live
credit's histories) on several threads (the loop, the store's insert thread, the native
decoder's, chDB's). With glibc's default of up to eight arenas per core, free space fragments
across heaps that are kept resident, and resident memory crept. Arrow's buffers stay on its own
pool. Measurements and what was tried: docs/decisions/allocator-settings.md.

All of it is glibc-specific and best effort: elsewhere each step does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import time

log = logging.getLogger("parcours")

# A release walks every free chunk: cheap at this interval (GET /v1/health "seconds",
# "memory.release"); more often kept no less resident (docs/decisions/allocator-settings.md).
RELEASE_EVERY_S = 5.0
# Threads beyond the second share an arena: fewer heaps to fragment, at a contention cost within
# the noise (docs/decisions/allocator-settings.md).
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def _libc() -> ctypes.CDLL | None:
    # The process's own symbols: glibc's where Python links it, without looking the library up.
    try:
        lib = ctypes.CDLL(None)
    except (OSError, TypeError):  # no such handle on this platform
        return None
    return lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else None


_LIBC = _libc()


def configure() -> None:
    """Call first thing in a process that will hold the store, before it starts threads: an arena
    made before the limit stays."""
    if _LIBC is not None and not _LIBC.mallopt(_M_ARENA_MAX, ARENAS):
        log.warning("allocators: mallopt(M_ARENA_MAX) refused; malloc arenas left at the default")


def release() -> float:
    """Hand free pages inside malloc's heaps back to the system (``malloc_trim``); the seconds it
    took. Freed memory in the middle of a heap is otherwise kept resident for reuse."""
    if _LIBC is None:
        return 0.0
    t0 = time.perf_counter()
    _LIBC.malloc_trim(0)
    return time.perf_counter() - t0
