"""The worker's allocator settings (streams/allocators.py) act on this machine's glibc and pyarrow.
Each check runs in a fresh interpreter: the settings are process-wide and only hold for threads
started after them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return out.stdout


_THREADS_MALLOC = """
    import ctypes, threading
    from streams import allocators
    if CONFIGURE:
        allocators.configure()
    libc = ctypes.CDLL(None)
    alive = threading.Barrier(8)  # all alive at once: an exited thread's arena goes to the next
    def work():
        keep = [bytearray(2048) for _ in range(1000)]  # malloc'd: over pymalloc's 512 bytes
        alive.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    libc.fflush(None)
    libc.malloc_info(0, ctypes.c_void_p.in_dll(libc, "stdout"))  # XML: one <heap> per arena
    libc.fflush(None)
"""


def test_configured_threads_share_two_malloc_arenas() -> None:
    configured = _run("CONFIGURE = True\n" + textwrap.dedent(_THREADS_MALLOC))
    default = _run("CONFIGURE = False\n" + textwrap.dedent(_THREADS_MALLOC))
    assert configured.count("<heap nr=") <= 2 < default.count("<heap nr=")


def test_release_hands_freed_heap_pages_back() -> None:
    out = _run(
        """
        from streams import allocators
        def rss_mb():
            return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
        chunks = [bytearray(2048) for _ in range(150_000)]  # ~300 MB from malloc's heap
        kept = chunks[::200]  # one live chunk every 200: the heap cannot shrink from its top
        del chunks
        before = rss_mb()
        allocators.release()
        print(before, rss_mb(), len(kept))
        """
    )
    before, after, _ = (float(x) for x in out.split())
    assert before - after > 200, (before, after)
