"""JSON of any nesting depth: the collector refuses what nests too deep, and a dead letter must
still keep it, past orjson's 255-level writer limit. Iterative, so no recursion limit is hit."""

from __future__ import annotations

from typing import Any

import orjson


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
