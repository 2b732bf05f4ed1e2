"""Drive Looplink like Microsoft Teams does: POST Activity JSON to /api/messages over HTTP.

Activities are shaped like the ones Teams sends (channelId "msteams", serviceUrl, conversation
with conversationType and tenantId, from with aadObjectId, channelData with tenant/team/channel,
`<at>` mentions with entities, invokes named "adaptiveCard/action" carrying Action.Execute).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import aiohttp

TENANT = "72f988bf-0000-4000-8000-00000000c0de"
BOT_ID = "28:0f4d1c1e-5b1c-4e8e-9a55-looplinkbot"
BOT_NAME = "Looplink"


@dataclass(frozen=True)
class TeamsUser:
    id: str  # "29:..."
    name: str
    aad: str

    @property
    def personal_conversation(self) -> str:
        # opaque like a real one ("a:1...") so it never spells the person's name
        return "a:1" + hashlib.sha256(self.id.encode()).hexdigest()[:24]


def user(teams_id: str, name: str) -> TeamsUser:
    aad = hashlib.md5(teams_id.encode()).hexdigest()
    return TeamsUser(
        teams_id, name, f"{aad[:8]}-{aad[8:12]}-{aad[12:16]}-{aad[16:20]}-{aad[20:32]}"
    )


QUINN = user("29:quinn", "Quinn Murphy")
MAYA = user("29:maya", "Maya Singh")
MARA = user("29:mara", "Mara Quispe")
GRACE = user("29:grace", "Grace Okafor")
NOAH = user("29:noah", "Noah Begay")
ALICE = user("29:alice", "Alice Reyes")

OAKGROVE = "19:oakgrove@thread.tacv2"
MILLBROOK = "19:millbrook@thread.tacv2"
STATE = "19:state@thread.tacv2"


@dataclass
class Reply:
    status: int
    body: Any

    @property
    def card(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), self.body
        assert self.body.get("type") == "application/vnd.microsoft.card.adaptive", self.body
        return dict(self.body["value"])

    @property
    def message(self) -> str:
        assert isinstance(self.body, dict), self.body
        assert self.body.get("type") == "application/vnd.microsoft.activity.message", self.body
        return str(self.body["value"]).replace("\u200b", "")


class TeamsClient:
    def __init__(
        self, http: aiohttp.ClientSession, bot_url: str, service_url: str, tenant: str = TENANT
    ) -> None:
        self.http = http
        self.bot_url = bot_url.rstrip("/") + "/api/messages"
        self.service_url = service_url
        self.tenant = tenant  # the Microsoft 365 tenant the activities come from
        self._ids = itertools.count(1)
        self.headers: dict[str, str] = {}

    def in_tenant(self, tenant: str) -> TeamsClient:
        """The same Teams, as people of another Microsoft 365 tenant (own activity ids)."""
        other = TeamsClient(self.http, self.bot_url.removesuffix("/api/messages"), "", tenant)
        other.service_url = self.service_url
        other.headers = self.headers
        other._ids = itertools.count(500)
        return other

    def new_id(self) -> str:
        return f"1700000000{next(self._ids):03d}"

    def _base(self, who: TeamsUser, conversation: dict[str, Any]) -> dict[str, Any]:
        return {
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "timestamp": "2026-11-23T14:00:00.000Z",
            "locale": "en-US",
            "from": {"id": who.id, "name": who.name, "aadObjectId": who.aad},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": conversation,
        }

    def personal(self, who: TeamsUser) -> dict[str, Any]:
        return {
            "conversationType": "personal",
            "tenantId": self.tenant,
            "id": who.personal_conversation,
        }

    def channel_data(self, channel: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {"tenant": {"id": self.tenant}}
        if channel:
            data["team"] = {"id": channel, "name": "Team"}
            data["channel"] = {"id": channel, "name": "General"}
        return data

    async def send(self, activity: dict[str, Any]) -> Reply:
        async with self.http.post(self.bot_url, json=activity, headers=self.headers) as r:
            body: Any = None
            if r.content_type == "application/json":
                body = await r.json()
            return Reply(r.status, body)

    # ---- what people do ------------------------------------------------------------------

    async def say(self, who: TeamsUser, text: str, activity_id: str | None = None) -> Reply:
        """A message in the person's personal chat with the bot."""
        activity = {
            **self._base(who, self.personal(who)),
            "type": "message",
            "id": activity_id or self.new_id(),
            "text": text,
            "textFormat": "plain",
            "channelData": self.channel_data(None),
        }
        return await self.send(activity)

    async def mention(self, who: TeamsUser, channel: str, text: str) -> Reply:
        """`@Looplink text` posted as a new thread in a team channel."""
        msg_id = self.new_id()
        activity = {
            **self._base(
                who,
                {
                    "conversationType": "channel",
                    "tenantId": self.tenant,
                    "id": f"{channel};messageid={msg_id}",
                    "isGroup": True,
                },
            ),
            "type": "message",
            "id": msg_id,
            "text": f"<at>{BOT_NAME}</at> {text}",
            "textFormat": "plain",
            "entities": [
                {
                    "type": "mention",
                    "text": f"<at>{BOT_NAME}</at>",
                    "mentioned": {"id": BOT_ID, "name": BOT_NAME},
                }
            ],
            "channelData": self.channel_data(channel),
        }
        return await self.send(activity)

    async def install_personal(self, who: TeamsUser) -> Reply:
        activity = {
            **self._base(who, self.personal(who)),
            "type": "installationUpdate",
            "id": "f:" + self.new_id(),
            "action": "add",
            "channelData": self.channel_data(None),
        }
        return await self.send(activity)

    async def install_team(self, who: TeamsUser, channel: str) -> Reply:
        activity = {
            **self._base(
                who,
                {
                    "conversationType": "channel",
                    "tenantId": self.tenant,
                    "id": channel,
                    "isGroup": True,
                },
            ),
            "type": "conversationUpdate",
            "id": "f:" + self.new_id(),
            "membersAdded": [{"id": BOT_ID}],
            "channelData": {**self.channel_data(channel), "eventType": "teamMemberAdded"},
        }
        return await self.send(activity)

    async def execute(
        self,
        who: TeamsUser,
        act: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        *,
        channel: str | None = None,
        reply_to: str = "",
        activity_id: str | None = None,
    ) -> Reply:
        """Press an Action.Execute button of a card: an `adaptiveCard/action` invoke."""
        assert act.get("type") == "Action.Execute", act
        data = {**(act.get("data") or {}), **(inputs or {})}
        if channel:
            conversation = {
                "conversationType": "channel",
                "tenantId": self.tenant,
                "id": f"{channel};messageid={reply_to or self.new_id()}",
                "isGroup": True,
            }
        else:
            conversation = self.personal(who)
        activity = {
            **self._base(who, conversation),
            "type": "invoke",
            "name": "adaptiveCard/action",
            "id": activity_id or "f:" + self.new_id(),
            "replyToId": reply_to,
            "value": {
                "action": {
                    "type": "Action.Execute",
                    "id": act.get("id", ""),
                    "verb": act.get("verb", ""),
                    "data": data,
                },
                "trigger": "manual",
            },
            "channelData": self.channel_data(channel),
        }
        return await self.send(activity)

    async def submit(
        self, who: TeamsUser, act: dict[str, Any], inputs: dict[str, Any] | None = None
    ) -> Reply:
        """The same card button through Action.Submit (older clients): a message with value."""
        data = {**(act.get("data") or {}), **(inputs or {})}
        activity = {
            **self._base(who, self.personal(who)),
            "type": "message",
            "id": self.new_id(),
            "value": data,
            "channelData": self.channel_data(None),
        }
        return await self.send(activity)
