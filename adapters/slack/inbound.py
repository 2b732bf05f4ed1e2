"""Slack's message text turned into Looplink's plain text.

Slack sends text with `&`, `<`, `>` as entities and mentions, channels and links as
`<...>` tokens. Mentions of people become `@person-id` and channels become `#team-id` (the
ids flows understand, e.g. in `kudos @alice for ...`); unknown ones keep Slack's label.
Links keep their URL. The result is plain text: it is escaped again when rendered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

TOKEN = re.compile(r"<([^<>]*)>")


class BadPayload(ValueError):
    """A signed request without what Slack always sends (or of the wrong shape).

    Answered with 400 and logged as a warning: never a 500, never a traceback.
    """


INTERACTIONS_WITH_USER = {
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
}


OBJECTS = ("user", "view", "channel", "container", "message", "team", "enterprise", "event")


def malformed(body: Any) -> str | None:  # noqa: C901 - one check per field; split it when it next grows
    """What is wrong with a request body's shape, as far as Slack guarantees it, or None.

    Asked only after something failed, to tell a malformed request (400, not retried) from an
    internal failure (500: Slack retries events).
    """
    if not isinstance(body, dict):
        return "the body is not an object"
    try:
        for key in OBJECTS:
            if key in body:
                obj(body[key], key)
        if "actions" in body:
            actions = body["actions"]
            if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
                return "actions: expected a list of objects"
        if "command" in body:  # a slash command
            for key in ("command", "user_id", "trigger_id"):
                text(body.get(key), key, required=True)
            return None
        kind = text(body.get("type"), "type", required=True)
        if kind in INTERACTIONS_WITH_USER:
            text(obj(body.get("user"), "user").get("id"), "user.id", required=True)
            if kind == "block_actions" and not body.get("actions"):
                return "actions: expected at least one action"
            if kind.startswith("view_"):
                obj(body.get("view"), "view")
        elif kind == "event_callback":
            event = obj(body.get("event"), "event")
            text(event.get("type"), "event.type", required=True)
            for key in ("user", "channel", "text", "channel_type", "tab", "subtype"):
                text(event.get(key), f"event.{key}")
            text(body.get("event_id"), "event_id", required=True)
        elif kind == "url_verification":
            text(body.get("challenge"), "challenge", required=True)
    except BadPayload as e:
        return str(e)
    return None


def obj(value: Any, what: str, required: bool = True) -> dict[str, Any]:
    """`value` as a JSON object (an absent optional one is empty)."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{what}: expected an object")
    return value


def text(value: Any, what: str, required: bool = False) -> str:
    """`value` as a string; a required one must not be empty."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise BadPayload(f"{what}: expected {'a non-empty' if required else 'a'} string")
    return value


def workspace(body: dict[str, Any], user_team: Any = None) -> tuple[str, tuple[str, ...]]:
    """The workspace a request comes from, and the Enterprise Grid organisation it belongs to.

    The user's own workspace where Slack says it (`user.team_id` in interactions,
    `event.user_team` in events: a user of another organisation in a shared channel belongs
    there), else the request's; the organisation from `enterprise_id` / `enterprise.id` or
    the event's authorization. These are the places an identity is looked up in
    (bot/identity.py); anything Slack did not send is "".
    """
    team = text(user_team, "user team") if isinstance(user_team, str) else ""
    if not team:
        given = body.get("team_id")
        team = given if isinstance(given, str) else ""
    if not team:
        team = text(obj(body.get("team"), "team", required=False).get("id"), "team.id")
    enterprise = body.get("enterprise_id")
    if not isinstance(enterprise, str) or not enterprise:
        enterprise = obj(body.get("enterprise"), "enterprise", required=False).get("id")
    if not isinstance(enterprise, str) or not enterprise:
        auths = body.get("authorizations")
        first = auths[0] if isinstance(auths, list) and auths else {}
        enterprise = first.get("enterprise_id") if isinstance(first, dict) else None
    grid = (enterprise,) if isinstance(enterprise, str) and enterprise else ()
    return team, grid


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
