"""Slack's message text turned into Looplink's plain text.

Slack sends text with `&`, `<`, `>` as entities and mentions, channels and links as
`<...>` tokens. Mentions of people become `@person-id` and channels become `#team-id` (the
ids flows understand, e.g. in `kudos @alice for ...`); unknown ones keep Slack's label.
Links keep their URL. The result is plain text: it is escaped again when rendered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

TOKEN = re.compile(r"<([^<>]*)>")

Lookup = Callable[[set[str], set[str]], Awaitable[tuple[dict[str, str], dict[str, str]]]]


def tokens(text: str) -> tuple[set[str], set[str]]:
    """The Slack user ids and channel ids mentioned in `text`."""
    users: set[str] = set()
    channels: set[str] = set()
    for m in TOKEN.finditer(text):
        inner = m.group(1)
        target = inner.split("|", 1)[0]
        if target.startswith("@"):
            users.add(target[1:])
        elif target.startswith("#"):
            channels.add(target[1:])
    return users, channels


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_plain(text: str, people: dict[str, str], teams: dict[str, str]) -> str:
    """Translate Slack markup; `people` maps Slack user ids and `teams` channel ids to our ids."""

    def token(m: re.Match[str]) -> str:
        target, _, label = m.group(1).partition("|")
        label = unescape(label)
        if target.startswith("@"):
            uid = target[1:]
            return "@" + (people.get(uid) or label.lstrip("@") or uid)
        if target.startswith("#"):
            cid = target[1:]
            return "#" + (teams.get(cid) or label or cid)
        if target.startswith("!"):  # <!here>, <!channel>, <!subteam^S1|@group>, <!date^...|x>
            if label:
                return label
            return "@" + target[1:].split("^", 1)[0]
        url = unescape(target)
        if label and label != url:
            return f"{label} ({url})"
        return url

    return unescape(TOKEN.sub(token, text))


async def translate(text: str, lookup: Lookup) -> str:
    """`to_plain`, looking up only the ids that actually occur in `text`."""
    if "<" not in text:
        return unescape(text)
    users, channels = tokens(text)
    people, teams = await lookup(users, channels) if users or channels else ({}, {})
    return to_plain(text, people, teams)
