"""Request bodies at the HTTP edge: read whole or refused, and JSON of any depth written back.

``StreamReader.read(n)`` returns what happens to be buffered, not ``n`` bytes: a 593 KB batch
was cut at 128,000 characters and refused as "not JSON". A body is read to its end, bounded in
size and in time.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import orjson

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


def nesting_depth_over(value: Any, limit: int) -> bool:
    """Whether JSON ``value`` nests deeper than ``limit`` (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((c, depth + 1) for c in children)
    return False


def dumps_any_depth(value: Any) -> bytes:
    """JSON bytes of a decoded value however deep it nests: orjson's writer stops at 255 levels,
    and a dead letter must keep the event it refuses."""
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, bytes):  # a separator or closing bracket queued below
            out.append(node)
        elif isinstance(node, dict):
            stack.append(b"}")
            for i, (k, v) in enumerate(reversed(list(node.items()))):
                stack.append(v)
                stack.append(orjson.dumps(str(k)) + b":")
                if i < len(node) - 1:
                    stack.append(b",")
            stack.append(b"{")
        elif isinstance(node, list):
            stack.append(b"]")
            for i, v in enumerate(reversed(node)):
                stack.append(v)
                if i < len(node) - 1:
                    stack.append(b",")
            stack.append(b"[")
        else:
            out.append(orjson.dumps(node))
    return b"".join(out)
