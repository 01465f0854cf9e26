"""Request bodies at the HTTP edge: read whole or refused.

``StreamReader.read(n)`` returns what happens to be buffered, not ``n`` bytes: a large batch
read in one call can be cut short and refused as "not JSON". A body is read to its end, bounded
in size and in time.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from streams.errors import TerminalError

_CHUNK = 64 * 1024


class BodyTooLarge(TerminalError):
    """The body is longer than the endpoint takes (HTTP 413)."""


class BodyIncomplete(TerminalError):
    """The client stopped sending before its declared length (HTTP 400)."""


class _Stream(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class _Request(Protocol):
    @property
    def content_length(self) -> int | None: ...

    @property
    def content(self) -> _Stream: ...


async def read_body(request: _Request, limit: int, timeout_s: float) -> bytes:
    """The whole body, at most ``limit`` bytes, within ``timeout_s`` (``TimeoutError`` after)."""
    if (request.content_length or 0) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")

    async def whole() -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = await request.content.read(_CHUNK)
            except Exception as err:  # aiohttp's payload errors: the peer closed mid-body
                raise BodyIncomplete(f"body cut short: {type(err).__name__}") from err
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"body over {limit} bytes")
            chunks.append(chunk)

    return await asyncio.wait_for(whole(), timeout_s)
