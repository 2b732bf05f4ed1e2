"""A small client for the Bot Connector REST API (v3), on aiohttp.

Only what Looplink uses: post to a conversation, reply in it, update an activity in place,
create a personal conversation, read one member (for their email). Errors carry the HTTP status
and Retry-After, so the outbox can tell "try again later" from "this will never work".
"""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from adapters.teams.service_urls import ServiceUrls

log = logging.getLogger("looplink.teams")

Json = dict[str, Any]
TIMEOUT = aiohttp.ClientTimeout(total=20)


class TokenSource(Protocol):
    async def token(self) -> str | None:
        """A bearer token for the connector, or None when running unauthenticated."""
        ...


class NoTokens:
    """Unauthenticated (no app id): local testing and the Bot Framework Emulator."""

    async def token(self) -> str | None:
        return None


class ConnectorError(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"connector answered {status}: {message}")
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500 or self.status in (0, 408)


class AddressNotAllowed(ConnectorError):
    """Looplink itself refused to call this address (not an allowed Bot Connector one)."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _conv(conversation_id: str) -> str:
    return quote(conversation_id, safe="")


class BotConnector:
    """`allowed`: the only addresses it calls (anything else fails permanently, so a stored
    reference pointing elsewhere never receives a message, nor the bot's token)."""

    def __init__(
        self, tokens: TokenSource | None = None, allowed: ServiceUrls | None = None
    ) -> None:
        self.tokens: TokenSource = tokens or NoTokens()
        self.allowed = allowed if allowed is not None else ServiceUrls()
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _call(self, method: str, service_url: str, path: str, body: Json | None) -> Json:
        if not service_url.startswith(("https://", "http://")):
            raise ConnectorError(0, f"no usable serviceUrl ({service_url!r})")
        if not self.allowed.allows(service_url):
            raise AddressNotAllowed(
                403, f"serviceUrl {service_url[:100]!r} is not an allowed Bot Connector address"
            )
        url = service_url.rstrip("/") + path
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            token = await self.tokens.token()
        except Exception as e:  # AAD unreachable, wrong password: retry later, never drop
            raise ConnectorError(0, f"could not get a Bot Framework token: {e}") from e
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._http().request(method, url, json=body, headers=headers) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise ConnectorError(
                        resp.status,
                        text[:300],
                        retry_after_seconds(resp.headers.get("Retry-After")),
                    )
                if not text.strip():
                    return {}
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    return {}
                return data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ConnectorError(0, f"{type(e).__name__}: {e}") from e

    async def post(self, service_url: str, conversation_id: str, activity: Json) -> str:
        """A new message in the conversation (in a team channel: a new thread)."""
        path = f"/v3/conversations/{_conv(conversation_id)}/activities"
        return str((await self._call("POST", service_url, path, activity)).get("id", ""))

    async def reply(
        self, service_url: str, conversation_id: str, reply_to_id: str, activity: Json
    ) -> str:
        """A reply to an activity (in a channel: in its thread)."""
        path = (
            f"/v3/conversations/{_conv(conversation_id)}/activities/{quote(reply_to_id, safe='')}"
        )
        body = {**activity, "replyToId": reply_to_id}
        return str((await self._call("POST", service_url, path, body)).get("id", ""))

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: Json
    ) -> str:
        """Replace an earlier message in place."""
        path = (
            f"/v3/conversations/{_conv(conversation_id)}/activities/{quote(activity_id, safe='')}"
        )
        body = {**activity, "id": activity_id}
        data = await self._call("PUT", service_url, path, body)
        return str(data.get("id") or activity_id)

    async def create_personal(
        self, service_url: str, bot_id: str, user_id: str, tenant_id: str
    ) -> str:
        """Open (or find) the bot's personal chat with a user; returns its conversation id."""
        body: Json = {
            "bot": {"id": bot_id},
            "members": [{"id": user_id}],
            "isGroup": False,
            "tenantId": tenant_id,
            "channelData": {"tenant": {"id": tenant_id}},
        }
        data = await self._call("POST", service_url, "/v3/conversations", body)
        conversation_id = str(data.get("id", ""))
        if not conversation_id:
            raise ConnectorError(502, "the connector created a conversation without an id")
        return conversation_id

    async def roster(self, service_url: str, conversation_id: str) -> list[Json]:
        """Every member of a team (the conversation of one of its channels), page by page."""
        out: list[Json] = []
        token = ""
        base = f"/v3/conversations/{_conv(conversation_id)}/pagedmembers?pageSize=500"
        for _page in range(1000):  # a team has at most 25,000 members
            path = base + (f"&continuationToken={quote(token, safe='')}" if token else "")
            data = await self._call("GET", service_url, path, None)
            out += [m for m in data.get("members") or [] if isinstance(m, dict)]
            token = str(data.get("continuationToken") or "")
            if not token:
                break
        return out

    async def member(self, service_url: str, conversation_id: str, user_id: str) -> Json:
        path = f"/v3/conversations/{_conv(conversation_id)}/members/{quote(user_id, safe='')}"
        return await self._call("GET", service_url, path, None)
