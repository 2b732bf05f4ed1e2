"""The outbox sender for Slack: neutral messages posted, updated in place, or sent as DMs.

- A team's message goes to its channel (`channels.slack` in the org file).
- A person's message goes to their DM with the bot: the DM channel is opened once with
  `conversations.open` and kept as a conversation reference.
- A message with an earlier post (`Delivery.previous`) is edited in place with `chat.update`.
- Posts are paced to about one per second per channel (Slack's limit for `chat.postMessage`).
- Errors: 429 -> retry after `Retry-After`; 5xx, network and Slack's transient errors -> retry
  with backoff; anything else Slack refuses (channel_not_found, not_in_channel, invalid_auth...)
  -> permanent, so the outbox stops retrying and logs it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import fallback_text, message_blocks
from bot.outbox import Address, Delivery, SendResult

log = logging.getLogger("looplink.slack")

TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}
# chat.update cannot edit this message any more: post a fresh one instead
GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


def slack_error(e: SlackApiError) -> str:
    data = e.response.data if e.response is not None else None
    if isinstance(data, dict):
        return str(data.get("error") or "")
    return ""


def failure(e: SlackApiError, conversation: dict[str, Any] | None = None) -> SendResult:
    """Map a refused Web API call to what the outbox should do next."""
    status = e.response.status_code if e.response is not None else 0
    error = slack_error(e) or f"http_{status}"
    if status == 429 or error == "ratelimited":
        raw = (e.response.headers or {}).get("Retry-After", "") if e.response is not None else ""
        try:
            wait = max(1.0, float(raw))
        except ValueError:
            wait = 30.0
        return SendResult(
            ok=False, retry_after=wait, error=f"rate limited ({error})", conversation=conversation
        )
    if status >= 500 or status == 408 or error in TRANSIENT:
        return SendResult(ok=False, error=f"Slack error {error}", conversation=conversation)
    return SendResult(ok=False, permanent=True, error=f"Slack refused: {error}")


class SlackSender:
    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        min_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.min_interval = min_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def deliver(self, delivery: Delivery) -> SendResult:
        m = delivery.message
        blocks = message_blocks(m)
        text = fallback_text(m)
        conversation: dict[str, Any] | None = None
        try:
            prev = delivery.previous or {}
            if prev.get("channel") and prev.get("ts"):
                try:
                    r = await self.client.chat_update(
                        channel=prev["channel"], ts=prev["ts"], text=text, blocks=blocks
                    )
                    return SendResult(ok=True, ref={"channel": r["channel"], "ts": r["ts"]})
                except SlackApiError as e:
                    if slack_error(e) not in GONE:
                        raise
                    log.info("outbox %s: earlier message is gone; posting anew", delivery.outbox_id)
            channel, conversation = await self._channel(delivery.address)
            if channel is None:
                a = delivery.address
                # a person is not named: it may be an anonymous reporter being answered
                return SendResult(
                    ok=False,
                    permanent=True,
                    error=f"no Slack channel for team {a.dest_id}"
                    if a.dest_kind == "team"
                    else "no Slack user id or DM channel for this person",
                )
            await self._pace(channel)
            r = await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
            return SendResult(
                ok=True, ref={"channel": r["channel"], "ts": r["ts"]}, conversation=conversation
            )
        except SlackApiError as e:
            return failure(e, conversation)
        except (aiohttp.ClientError, TimeoutError) as e:
            return SendResult(
                ok=False, error=f"network: {type(e).__name__}: {e}"[:500], conversation=conversation
            )

    async def _channel(self, a: Address) -> tuple[str | None, dict[str, Any] | None]:
        """The channel to post to, and a conversation reference worth keeping (new DMs)."""
        if a.dest_kind != "person":
            return a.platform_id, None
        known = (a.ref or {}).get("channel")
        if known:
            return str(known), None
        if not a.platform_id:
            return None, None
        r = await self.client.conversations_open(users=a.platform_id)
        channel = str(r["channel"]["id"])
        return channel, {"channel": channel}

    async def _pace(self, channel: str) -> None:
        """Wait so that posts to one channel are at least `min_interval` seconds apart."""
        if self.min_interval <= 0:
            return
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            now = self._monotonic()
            wait = self._last.get(channel, -math.inf) + self.min_interval - now
            if wait > 0:
                await self._sleep(wait)
                now = self._monotonic()
            self._last[channel] = now
        if len(self._last) > 2000:  # forget channels that have been quiet for a while
            cutoff = now - self.min_interval
            for key in [k for k, t in self._last.items() if t < cutoff]:
                self._last.pop(key, None)
                if key in self._locks and not self._locks[key].locked():
                    self._locks.pop(key, None)
