"""JSON from a platform request, read with bounds: nesting depth, and off the event loop when
large. Adapters use it before handing a payload to an SDK, so a hostile body is a 400, never a
RecursionError (a 500) and never seconds of parsing on the loop that serves everyone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

MAX_DEPTH = 64  # real Slack and Teams payloads nest about 10 levels deep
INLINE_BYTES = 32 * 1024  # larger bodies are parsed in a worker thread


class BadPayload(ValueError):
    """The body is not JSON we will read; the text says why (safe to log, not to echo)."""


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest more than `limit` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON, refusing invalid text and nesting deeper than `max_depth`."""
    try:
        value = json.loads(data)
    except RecursionError as e:
        raise BadPayload("JSON nested too deeply") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise BadPayload("invalid JSON") from e
    if isinstance(value, dict | list) and too_deep(value, max_depth):
        raise BadPayload(f"JSON nested more than {max_depth} levels deep")
    return value


async def loads_async(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """`loads`, in a worker thread when the body is large enough to take a while."""
    if len(data) <= INLINE_BYTES:
        return loads(data, max_depth)
    return await asyncio.to_thread(loads, data, max_depth)
