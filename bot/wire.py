"""What every platform's HTTP door checks on a request body before anything else reads it.

Slack and Teams send UTF-8 (JSON or form data), and never a NUL character, which PostgreSQL
cannot store in text. A body that is not UTF-8, that declares another charset, or that carries
a NUL anywhere (even escaped as `\\u0000` or `%00`) is malformed: the adapter answers 400 and
stores nothing. (Inbound text from other sources still has NULs dropped by `flows.router`.)
"""

from __future__ import annotations

from typing import Any

UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})  # ASCII is UTF-8


class BadBody(ValueError):
    """A request body no platform sends; the text says why (for the log, not the answer)."""


def utf8_text(raw: bytes, charset: str | None) -> str:
    """The body as text: UTF-8, declared as such or not declared at all."""
    if charset is not None and charset.strip().strip('"').lower() not in UTF8:
        raise BadBody(f"charset {charset[:40]!r} (platforms send UTF-8)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadBody(f"not UTF-8 at byte {e.start}") from None


def has_nul(value: Any) -> bool:
    """Whether a NUL character occurs in any string (key or value) of a parsed body."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return True
        elif isinstance(v, dict):
            for k, item in v.items():
                if isinstance(k, str) and "\x00" in k:
                    return True
                stack.append(item)
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return False
