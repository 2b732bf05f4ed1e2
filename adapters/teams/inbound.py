"""Teams Activity JSON -> what Looplink needs: who, where, what, and how to reach them later.

Pure functions on the wire format (the JSON Teams posts to /api/messages), no SDK imports.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any

from adapters.teams.cards import CardAction, read_action

PERSONAL = "personal"
MAX_KEY = 200

_TAG = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"[ \t\u00a0]+")

Json = dict[str, Any]


def _d(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class TeamsActivity:
    """The parts of an activity Looplink reads."""

    raw: Json
    type: str
    name: str
    id: str
    service_url: str
    user_id: str
    aad_id: str
    user_name: str
    bot_id: str
    bot_name: str
    conversation_id: str
    conversation_type: str
    tenant_id: str
    channel_id: str  # the team channel ("19:...@thread.tacv2"), without any ";messageid="
    team_id: str
    reply_to_id: str
    locale: str | None = None  # the user's Teams language ("es-MX"), as the client reports it

    @property
    def personal(self) -> bool:
        return self.conversation_type == PERSONAL

    @property
    def in_team_channel(self) -> bool:
        """Teams says explicitly that this was posted in the team channel it names. Only such
        an activity may store (or replace) a team channel's reference; a personal chat or a
        group chat never does, whatever its channelData says."""
        declared = _s(_d(self.raw.get("conversation")).get("conversationType"))
        return (
            declared == "channel"
            and bool(self.channel_id)
            and self.conversation_id.split(";", 1)[0] == self.channel_id
        )

    @property
    def is_invoke(self) -> bool:
        return self.type == "invoke"

    @property
    def delivery_id(self) -> str | None:
        """Idempotency key: the activity id, scoped to its conversation.

        Teams message ids are per-conversation timestamps, so two conversations can share one;
        the conversation makes the key unique, hashed so it always fits the column.
        """
        if not self.id:
            return None
        conv = hashlib.sha256(self.conversation_id.encode()).hexdigest()[:16]
        key = f"teams:{conv}:{self.id}"
        if len(key) > MAX_KEY:
            key = f"teams:{conv}:{hashlib.sha256(self.id.encode()).hexdigest()}"
        return key


def parse(raw: Json) -> TeamsActivity:
    conv = _d(raw.get("conversation"))
    sender = _d(raw.get("from"))
    bot = _d(raw.get("recipient"))
    data = _d(raw.get("channelData"))
    conversation_id = _s(conv.get("id"))
    conv_type = _s(conv.get("conversationType"))
    if not conv_type:
        conv_type = "channel" if _d(data.get("channel")).get("id") else PERSONAL
    tenant = _s(conv.get("tenantId")) or _s(_d(data.get("tenant")).get("id"))
    channel = _s(_d(data.get("channel")).get("id"))
    team = _s(_d(data.get("team")).get("id"))
    if conv_type == "channel" and not channel:
        channel = conversation_id.split(";", 1)[0]
    return TeamsActivity(
        raw=raw,
        type=_s(raw.get("type")),
        name=_s(raw.get("name")),
        id=_s(raw.get("id")),
        service_url=_s(raw.get("serviceUrl")),
        user_id=_s(sender.get("id")),
        aad_id=_s(sender.get("aadObjectId")),
        user_name=_s(sender.get("name")),
        bot_id=_s(bot.get("id")),
        bot_name=_s(bot.get("name")),
        conversation_id=conversation_id,
        conversation_type=conv_type,
        tenant_id=tenant,
        channel_id=channel,
        team_id=team,
        reply_to_id=_s(raw.get("replyToId")),
        locale=_s(raw.get("locale"))[:35] or None,
    )


def clean_text(a: TeamsActivity) -> str:
    """The typed text: the bot's @mention removed, other mentions as `@<their Teams id>`."""
    text = _s(a.raw.get("text"))
    for e in a.raw.get("entities") or []:
        e = _d(e)
        if e.get("type") != "mention":
            continue
        said = _s(e.get("text"))
        who = _s(_d(e.get("mentioned")).get("id"))
        if not said:
            continue
        text = text.replace(said, " " if who == a.bot_id else f" @{who} " if who else " ")
    text = _TAG.sub(" ", text)  # what is left of <at>...</at> or formatting tags
    text = html.unescape(text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    return "\n".join(line for line in lines if line).strip()


def card_action(a: TeamsActivity) -> CardAction | None:
    """The Looplink card action in an invoke (Action.Execute) or a message (Action.Submit)."""
    value = a.raw.get("value")
    if a.is_invoke:
        if a.name != "adaptiveCard/action":
            return None
        data = _d(_d(_d(value).get("action")).get("data"))
        return read_action(data)
    return read_action(value)


def conversation_ref(a: TeamsActivity, channel: str = "") -> Json:
    """A conversation reference (Bot Framework shape) to post to this conversation later.

    For a team channel it points at the channel itself (`channel`, default the activity's), so
    a post starts a new thread there rather than replying in this activity's thread.
    """
    conversation: Json = {"id": a.conversation_id, "conversationType": a.conversation_type}
    if a.conversation_type == "channel" and (channel or a.channel_id):
        conversation["id"] = channel or a.channel_id
    if a.tenant_id:
        conversation["tenantId"] = a.tenant_id
    ref: Json = {
        "channelId": "msteams",
        "serviceUrl": a.service_url,
        "conversation": conversation,
        "bot": {"id": a.bot_id, "name": a.bot_name},
    }
    if a.personal:
        ref["user"] = {"id": a.user_id, "aadObjectId": a.aad_id}
    if a.team_id:
        ref["teamId"] = a.team_id
    return ref


def installed(a: TeamsActivity) -> bool:
    """The app was just added to this conversation (install, or the bot joined)."""
    if a.type == "installationUpdate":
        return _s(a.raw.get("action")).startswith("add")
    if a.type == "conversationUpdate":
        added = [_d(m).get("id") for m in a.raw.get("membersAdded") or []]
        return a.bot_id in added
    return False
