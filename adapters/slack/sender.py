"""The outbox sender for Slack: neutral messages posted, updated in place, or sent as DMs.

- A team's message goes to its channel (`channels.slack` in the org file).
- A person's message goes to their DM with the bot: the DM channel is opened once with
  `conversations.open` and kept as a conversation reference.
- A message with an earlier post (`Delivery.previous`) is edited in place with `chat.update`.
- Every call carries the token of the workspace it goes to (`Address.scope`, the workspace of
  the channel or of the person's identity): one token in single-workspace mode, the
  workspace's installation's in OAuth mode. In OAuth mode a workspace that never installed
  Looplink, removed it or had its token revoked holds back only its own deliveries (parked,
  the admin told to install it again), never the other workspaces'.
- Posts are paced to about one per second per channel (Slack's limit for `chat.postMessage`).
- Every post carries its outbox id in Slack message metadata (`event_type` "looplink_outbox").
  A delivery whose earlier attempt was never recorded (a crash between Slack accepting the
  post and the outbox recording it) first looks for that post in the channel's recent history
  (`conversations.history`, needs the bot in the channel and the history scopes): if it is
  there, it is recorded as sent instead of being posted again.
- Errors, in three classes (see `bot.outbox`):
  - retry soon: 429 (after `Retry-After`), 5xx, network errors, Slack's transient errors;
  - retry later and tell the admin what to fix: Slack refuses until someone acts: the bot is
    not in a private channel (`not_in_channel`: invite it), the token is refused
    (`invalid_auth`, `token_revoked`...: every delivery pauses), a channel or person id in the
    org file is wrong, a permission is missing; and any error this module does not know;
  - truly permanent: Slack rejects the message itself (`msg_too_long`, `invalid_blocks`...).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import fallback_text, message_blocks
from adapters.slack.oauth import InstalledTokens, NoToken, Tokens
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


MARK = "looplink_outbox"  # the metadata event type every post carries, with its outbox id
HISTORY_PAGES = 5  # how far back to look for a post made before a crash (200 messages a page)
MARGIN = 120.0  # seconds before the row was queued, for clocks that disagree

# Slack rejects the message itself: the same message can never be posted.
MESSAGE_REFUSED = {
    "msg_too_long",
    "no_text",
    "invalid_blocks",
    "invalid_blocks_format",
    "invalid_attachments",
    "too_many_attachments",
    "invalid_arguments",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
    "markdown_text_conflict",
}
# Slack refuses the token: nothing can be delivered until it is replaced.
TOKEN_REFUSED = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_permission",
    "org_login_required",
    "team_access_not_granted",
    "two_factor_setup_required",
}
TOKEN_FIX = (
    "Slack does not accept SLACK_BOT_TOKEN ({error}): set the app's current bot token (xoxb-…, "
    "from OAuth & Permissions) and restart Looplink; every queued message then goes out"
)


def admin_fix(error: str, address: Address | None, data: dict[str, Any]) -> str:
    """What an admin must do before Slack accepts this delivery (addresses by id only: a
    person is never named, it may be an anonymous reporter being answered)."""
    where = "this destination"
    if address is not None and address.dest_kind == "team":
        where = f"the channel {address.platform_id} of team {address.dest_id}"
    elif address is not None:
        where = "a person's direct messages (`looplink outbox list` shows whose)"
    if error in TOKEN_REFUSED:
        return TOKEN_FIX.format(error=error)
    if error == "not_in_channel":
        return f"invite @Looplink to {where}: type `/invite @Looplink` in that channel"
    if error == "channel_not_found":
        return (
            f"Slack has no channel the app can see for {where}: correct `channels: slack:` in "
            "the org file and run `looplink org apply`, or invite @Looplink if it is private"
        )
    if error == "is_archived":
        return f"{where} is archived: unarchive it, or give the team a new channel in the org file"
    if error == "missing_scope":
        needed = str(data.get("needed") or "a permission")
        return (
            f"the Slack app lacks the {needed} scope: add it under OAuth & Permissions, "
            "reinstall the app, and restart Looplink with the new token"
        )
    if error in ("user_not_found", "users_not_found", "cannot_dm_bot", "user_disabled"):
        return (
            f"Slack cannot open {where} ({error}): correct the person's `slack:` id in the "
            "org file, or their account was deactivated"
        )
    if error in ("restricted_action", "ekm_access_denied", "channel_is_restricted"):
        return f"the workspace does not let the app post in {where} ({error}): ask a Slack admin"
    return (
        f"Slack refused with '{error}' (see https://api.slack.com/methods/chat.postMessage); "
        "fix the cause, then `looplink outbox retry`"
    )


def failure(
    e: SlackApiError,
    conversation: dict[str, Any] | None = None,
    address: Address | None = None,
) -> SendResult:
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
    if error in MESSAGE_REFUSED:
        return SendResult(
            ok=False,
            permanent=True,
            error=f"Slack refused the message: {error}",
            fix="the message itself was refused (a Looplink bug worth reporting); "
            "`looplink outbox discard` it with a reason, or retry after upgrading",
        )
    data = e.response.data if e.response is not None else None
    return SendResult(
        ok=False,
        error=f"Slack refused: {error}",
        fix=admin_fix(error, address, data if isinstance(data, dict) else {}),
        platform_wide=error in TOKEN_REFUSED,
        conversation=conversation,
    )


def _reinstall(scope: str) -> str:
    return (
        f"install Looplink in Slack workspace {scope or '(unknown)'} again (its admin opens "
        "/slack/install); its messages wait until then, the other workspaces' go on"
    )


class SlackSender:
    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        tokens: Tokens | None = None,
        min_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`tokens`: the token of each workspace (None: the client's own, for every call)."""
        self.client = client
        self.tokens = tokens
        self.per_workspace = isinstance(tokens, InstalledTokens)
        self.min_interval = min_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def deliver(self, delivery: Delivery) -> SendResult:
        try:
            auth = await self._auth(delivery.address)
        except NoToken as e:  # OAuth mode: this workspace has no installation (any more)
            return SendResult(ok=False, error=str(e), fix=_reinstall(delivery.address.scope))
        result = await self._deliver(delivery, auth)
        if self.per_workspace and result.platform_wide:  # one workspace's token, not all
            return replace(result, platform_wide=False, fix=_reinstall(delivery.address.scope))
        return result

    async def _auth(self, a: Address) -> dict[str, Any]:
        """The `token=` argument for calls to `a`'s workspace (none: the client's own)."""
        if self.tokens is None:
            return {}
        return {"token": await self.tokens.token(a.scope)}

    async def _deliver(self, delivery: Delivery, auth: dict[str, Any]) -> SendResult:
        m = delivery.message
        blocks = message_blocks(m)
        text = fallback_text(m)
        conversation: dict[str, Any] | None = None
        try:
            prev = delivery.previous or {}
            if prev.get("channel") and prev.get("ts"):
                try:
                    r = await self.client.chat_update(
                        channel=prev["channel"], ts=prev["ts"], text=text, blocks=blocks, **auth
                    )
                    return SendResult(ok=True, ref={"channel": r["channel"], "ts": r["ts"]})
                except SlackApiError as e:
                    if slack_error(e) not in GONE:
                        raise
                    log.info("outbox %s: earlier message is gone; posting anew", delivery.outbox_id)
            channel, conversation = await self._channel(delivery.address, auth)
            if channel is None:
                a = delivery.address
                # a person is not named: it may be an anonymous reporter being answered
                team = a.dest_kind == "team"
                return SendResult(
                    ok=False,
                    error=f"no Slack channel for team {a.dest_id}"
                    if team
                    else "no Slack user id or DM channel for this person",
                    fix=f"give team {a.dest_id} `channels: slack:` in the org file"
                    if team
                    else "give the person a `slack:` id in the org file "
                    "(`looplink outbox list` shows whose)",
                )
            if delivery.unrecorded:
                found = await self._find_post(channel, delivery, auth)
                if found is not None:
                    return SendResult(ok=True, ref=found, conversation=conversation)
            await self._pace(channel)
            r = await self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": MARK, "event_payload": {"outbox_id": delivery.outbox_id}},
                **auth,
            )
            return SendResult(
                ok=True, ref={"channel": r["channel"], "ts": r["ts"]}, conversation=conversation
            )
        except SlackApiError as e:
            return failure(e, conversation, delivery.address)
        except (aiohttp.ClientError, TimeoutError) as e:
            return SendResult(
                ok=False, error=f"network: {type(e).__name__}: {e}"[:500], conversation=conversation
            )

    async def _find_post(
        self, channel: str, delivery: Delivery, auth: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Where this delivery was already posted, if the channel's recent history has it.

        Any failure to look (no history scope, a public channel the bot is not in, an error)
        means "not found": the message is then sent, as an at-least-once outbox must.
        """
        oldest = delivery.queued_at.timestamp() - MARGIN if delivery.queued_at else 0.0
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                r = await self.client.conversations_history(
                    channel=channel,
                    oldest=f"{max(0.0, oldest):.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                    **auth,
                )
                for m in r.get("messages") or []:
                    meta = m.get("metadata") or {} if isinstance(m, dict) else {}
                    payload = meta.get("event_payload") or {}
                    if (
                        meta.get("event_type") == MARK
                        and str(payload.get("outbox_id")) == str(delivery.outbox_id)
                        and m.get("ts")
                    ):
                        log.info(
                            "outbox %s: already in the channel (posted before a crash); "
                            "not posting it again",
                            delivery.outbox_id,
                        )
                        return {"channel": channel, "ts": str(m["ts"])}
                cursor = (r.get("response_metadata") or {}).get("next_cursor") or None
                if not r.get("has_more") or not cursor:
                    return None
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as e:
            reason = slack_error(e) if isinstance(e, SlackApiError) else type(e).__name__
            log.warning(
                "outbox %s: could not look in the channel history (%s); sending it again, "
                "which may duplicate it",
                delivery.outbox_id,
                reason,
            )
        return None

    async def _channel(
        self, a: Address, auth: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The channel to post to, and a conversation reference worth keeping (new DMs)."""
        if a.dest_kind != "person":
            return a.platform_id, None
        known = (a.ref or {}).get("channel")
        if known:
            return str(known), None
        if not a.platform_id:
            return None, None
        r = await self.client.conversations_open(users=a.platform_id, **auth)
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
