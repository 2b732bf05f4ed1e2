"""The Bolt app: Slack requests in, neutral events to `flows.router.handle`, answers out.

Every listener does the same three things, in this order:

1. translate the payload into a neutral `Inbound` (with a delivery id, so a retried or
   duplicated delivery changes nothing the second time);
2. `handle` it: one database transaction that commits the change and its outbox rows;
3. acknowledge Slack, then show the person the result *after* the acknowledgement
   (`views.open`, the `response_url`, `views.publish`), as background work.

Messages to channels and DMs are never posted from here: they go through the outbox. The
exceptions are answers to the person who acted: ephemeral replies, modals and App Home.
Answers in a DM conversation are queued in the outbox too (they are real DM messages).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.slack import inbound
from adapters.slack.blocks import (
    form_button,
    form_view,
    home_view,
    messages_blocks,
    messages_fallback,
    neutral_action,
    notice_view,
    read_submission,
)
from adapters.slack.oauth import DbInstallationStore, Tokens
from adapters.slack.settings import INFO
from bot.directory import Directory
from bot.domain import MAX_TEXT
from bot.identity import Identities
from bot.messages import Form, Message
from bot.outbox import enqueue, save_conversation_ref
from bot.runtime import Runtime
from flows.events import FlowResult, Inbound
from flows.router import handle

log = logging.getLogger("looplink.slack")

PLATFORM = INFO.name
# shortcut callback id -> the report form it opens
SHORTCUTS = {
    "report_as_barrier": "barrier",
    "report_barrier": "barrier",
    "share_success": "success",
}
EMAIL_CACHE = 2000
# Slack does not say when someone changes their Slack language: App Home, which a person opens
# themselves, re-reads it at most this often (seconds) per person, after the Home is shown.
LOCALE_REFRESH = 24 * 3600.0
FORM_FAILED = (
    "Sorry, Slack would not open the form (it can take a few seconds too long). Please try again."
)


def _dm(channel: str | None) -> bool:
    return bool(channel) and str(channel).startswith("D")


def _url(value: Any) -> str | None:
    """A response_url as given (Slack's own), or None when there is none usable."""
    return value if isinstance(value, str) and value else None


Where = tuple[str, tuple[str, ...]]  # a request's workspace and its Enterprise Grid organisation


@dataclass
class Surface:
    """Where the person acted, and so where an answer to them can be shown."""

    user: str
    trigger_id: str | None = None
    response_url: str | None = None
    dm_channel: str | None = None  # a DM with the bot: answers are DM messages
    view: dict[str, Any] | None = None  # the modal or App Home the person clicked in
    where: Where | None = None  # the workspace (and Grid organisation) it happened in
    client: AsyncWebClient | None = None  # Bolt's client for the request: that workspace's token


class SlackBot:
    """`tokens`: the bot token of each workspace (one, or one per installation); `store`: the
    installations (OAuth mode), to record uninstalls; `app_args`: how Bolt authorises each
    request (`token=`, or the installation store and its authorize)."""

    def __init__(
        self,
        rt: Runtime,
        signing_secret: str,
        tokens: Tokens,
        api_url: str | None = None,
        store: DbInstallationStore | None = None,
        **app_args: Any,
    ) -> None:
        self.rt = rt
        self.tokens = tokens
        self.store = store
        self.app = AsyncApp(
            name="looplink",
            signing_secret=signing_secret,
            # Listeners commit before Slack gets its acknowledgement ("persist before ack").
            # They are fast: one transaction; everything slow runs after the ack (see _later).
            process_before_response=True,
            **app_args,
        )
        self.client: AsyncWebClient = self.app.client
        if api_url:
            self.client.base_url = api_url
        self._tasks: set[asyncio.Task[None]] = set()
        # "team|user" -> (email, locale) from users.info, asked on first contact only: no other
        # call names a person (the locale is their language when nobody chose one, issue 17)
        self._profiles: dict[str, tuple[str | None, str | None]] = {}
        self._locale_read: dict[str, float] = {}  # "team|user" -> when App Home last read it
        self.locale_refresh = LOCALE_REFRESH
        self.http: aiohttp.ClientSession | None = None  # shared connections (set at start)
        anything = re.compile(r".*")
        self.app.command(anything)(self.on_command)
        self.app.block_action({"action_id": anything})(self.on_action)
        self.app.shortcut(anything)(self.on_shortcut)
        self.app.view_submission(anything)(self.on_submit)
        self.app.view_closed(anything)(self.on_closed)
        self.app.event("message")(self.on_message)
        self.app.event("app_home_opened")(self.on_home)
        self.app.event("app_uninstalled")(self.on_uninstalled)
        self.app.event("tokens_revoked")(self.on_tokens_revoked)
        self.app.error(self.on_error)

    async def on_error(self, error: Exception) -> BoltResponse:
        """A request a listener could not handle: 400 if it was malformed, else 500 (Slack
        retries events after a 5xx). The body never says why: that is for the log."""
        if isinstance(error, inbound.BadPayload):
            log.warning("refused a malformed Slack request: %s", error)
            return BoltResponse(status=400, body="Malformed Slack request.")
        log.error("handling a Slack request failed: %s", type(error).__name__, exc_info=error)
        return BoltResponse(status=500, body="")

    # ---- background work after the ack --------------------------------------------------

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            log.exception("answering in Slack failed")

    async def idle(self) -> None:
        """Wait until every answer started after an acknowledgement has been shown."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """Let answers in flight finish (up to `grace` seconds), then cancel the rest."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- translation helpers ------------------------------------------------------------

    async def _lookup(
        self, where: Where, users: set[str], channels: set[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """People and teams behind Slack ids mentioned in a request from `where`: ids of that
        workspace (or its organisation) only, and only if it is one of the organisation's."""
        people: dict[str, str] = {}
        teams: dict[str, str] = {}
        async with self.rt.db.transaction() as s:
            ids = Identities(s)
            places = await ids.places(INFO, [where[0], *where[1]])
            d = Directory(s)
            for uid in users:
                p = await d.person_by_identity(PLATFORM, uid, places)
                if p is not None:
                    people[uid] = p.id
            for cid in channels:
                t = await ids.team_for_channel(INFO, cid, places)
                if t is not None:
                    teams[cid] = t.id
        return people, teams

    async def plain(self, text: str, where: Where) -> str:
        async def lookup(
            users: set[str], channels: set[str]
        ) -> tuple[dict[str, str], dict[str, str]]:
            return await self._lookup(where, users, channels)

        return await inbound.translate(text or "", lookup)

    async def _slack_users(self, form: Form, where: Where | None = None) -> dict[str, str]:
        """For person fields with an initial value, the Slack user to preselect (their id in
        the workspace the form is shown in)."""
        wanted = {f.name: f.initial for f in form.fields if f.kind == "person" and f.initial}
        if not wanted:
            return {}
        out: dict[str, str] = {}
        places = [where[0], *where[1]] if where else None
        async with self.rt.db.transaction() as s:
            d = Directory(s)
            for name, token in wanted.items():
                p = await d.find_person(token)
                slack_id = await d.platform_id("person", p.id, PLATFORM, places) if p else None
                if slack_id:
                    out[name] = slack_id
        return out

    # ---- showing results ----------------------------------------------------------------

    def _client(self, s: Surface) -> AsyncWebClient:
        """The Web API client with the token of the workspace the person acted in."""
        return s.client if s.client is not None else self.client

    async def _respond(self, s: Surface, replies: list[Message]) -> None:
        assert s.response_url
        await AsyncWebhookClient(s.response_url, session=self.http).send(
            text=messages_fallback(replies),
            blocks=messages_blocks(replies),
            response_type="ephemeral",
            replace_original=False,
        )

    async def _open(self, s: Surface, form: Form) -> None:
        view = form_view(form, await self._slack_users(form, s.where))
        try:
            if s.view is not None and s.view.get("type") == "modal":
                await self._client(s).views_push(trigger_id=s.trigger_id, view=view)
            else:
                await self._client(s).views_open(trigger_id=s.trigger_id, view=view)
        except SlackApiError as e:
            log.warning("could not open the %s form: %s", form.form_id, e.response.get("error"))
            if s.response_url:
                await self._respond(s, [Message(text=FORM_FAILED)])

    async def _show(self, s: Surface, result: FlowResult) -> None:
        """Show a flow's result to the person who acted (after the ack)."""
        if result.form is not None and s.trigger_id:
            await self._open(s, result.form)
        replies = list(result.replies)
        if result.show_apart and replies and s.trigger_id:  # a long read: a modal of its own
            await self._client(s).views_open(
                trigger_id=s.trigger_id, view=notice_view(replies, words=result.words)
            )
            return
        if not replies or s.dm_channel:
            return  # DM answers were queued in the outbox before the ack
        if s.response_url:
            await self._respond(s, replies)
        elif s.view is not None and s.view.get("type") == "modal":
            await self._client(s).views_update(
                view_id=s.view["id"],
                hash=s.view.get("hash"),
                view=notice_view(replies, words=result.words),
            )
        elif s.trigger_id:
            await self._client(s).views_open(
                trigger_id=s.trigger_id, view=notice_view(replies, words=result.words)
            )

    @staticmethod
    def _dm_replies(result: FlowResult, offer_form: bool) -> list[Message]:
        """`offer_form`: there is no trigger to open the flow's form with (typed text), so the
        answer carries a button that opens it."""
        replies = list(result.replies)
        if result.form is not None and offer_form:
            offer = form_button(result.form)
            replies.append(
                Message(text=f"{result.form.title}:", buttons=(offer,))
                if offer
                else Message(
                    text=result.words.get(
                        "use_button", "Please use the button on the message above again."
                    )
                )
            )
        return replies

    async def _enqueue_dm(
        self, s: AsyncSession, result: FlowResult, channel: str, replies: list[Message]
    ) -> None:
        """Queue DM answers; the DM channel is kept as the person's reference for the identity
        that wrote in it (and for no other)."""
        assert result.person_id is not None
        now = self.rt.clock.now()
        person_id = result.person_id
        if result.identity is not None:
            await save_conversation_ref(
                s,
                "person",
                person_id,
                PLATFORM,
                {"channel": channel, "team": result.identity.scope},
                now,
                scope=result.identity.scope,
                identity=result.identity.value,
            )
        for m in replies:
            await enqueue(s, self.rt.fanout, now, "person", person_id, m, platform=PLATFORM)

    def _dm_queue(
        self, channel: str, offer_form: bool
    ) -> Callable[[AsyncSession, FlowResult], Awaitable[None]]:
        """Answers in a DM conversation are DM messages, queued in the outbox in order, in the
        same transaction as the change they answer (see `flows.router.handle`)."""

        async def queue(s: AsyncSession, result: FlowResult) -> None:
            replies = self._dm_replies(result, offer_form)
            if replies and result.person_id is not None:
                await self._enqueue_dm(s, result, channel, replies)

        return queue

    async def _queue_dm(
        self,
        result: FlowResult,
        user: str,
        channel: str,
        offer_form: bool,
        client: AsyncWebClient | None = None,
    ) -> None:
        """DM answers to an event that changed nothing (an error, a stranger): their own
        transaction, or an ephemeral message for someone not in the directory."""
        if result.queued or result.duplicate:
            return
        replies = self._dm_replies(result, offer_form)
        if not replies:
            return
        if result.person_id is None:  # not in the directory: nobody to queue for
            self._later(self._post_ephemeral(client or self.client, channel, user, replies))
            return
        async with self.rt.db.transaction() as s:
            await self._enqueue_dm(s, result, channel, replies)

    async def _post_ephemeral(
        self, client: AsyncWebClient, channel: str, user: str, replies: list[Message]
    ) -> None:
        await client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=messages_fallback(replies),
            blocks=messages_blocks(replies),
        )

    # ---- who wrote --------------------------------------------------------------------------

    async def _handle(
        self,
        ev: Inbound,
        client: AsyncWebClient,
        queue: Callable[[AsyncSession, FlowResult], Awaitable[None]] | None = None,
    ) -> FlowResult:
        """`flows.router.handle`; for someone new in one of the organisation's workspaces, once
        more with the email Slack has for them (`users.info`, with that workspace's token),
        which links them if it is the email of a person without a Slack identity there."""
        result = await handle(self.rt, ev, queue)
        if result.unknown and ev.email is None:
            email, locale = await self._profile(client, ev.scope, ev.user_id)
            if email:
                result = await handle(self.rt, replace(ev, email=email, locale=locale), queue)
        return result

    async def _profile(
        self, client: AsyncWebClient, team: str, user: str
    ) -> tuple[str | None, str | None]:
        """The user's email (needs `users:read.email`) and locale from Slack, cached."""
        key = f"{team}|{user}"
        if key in self._profiles:
            return self._profiles[key]
        try:
            r = await client.users_info(user=user, include_locale=True)
            found = inbound.obj(r.get("user"), "user")
            profile = inbound.obj(found.get("profile"), "profile")
            email = inbound.text(profile.get("email"), "profile.email") or None
            locale = inbound.text(found.get("locale"), "locale")[:35] or None
        except (SlackApiError, inbound.BadPayload) as e:
            log.info("Slack: no profile for a user of %s: %s", team or "-", type(e).__name__)
            return None, None
        if len(self._profiles) >= EMAIL_CACHE:
            self._profiles.clear()
        self._profiles[key] = (email, locale)
        return email, locale

    # ---- listeners ----------------------------------------------------------------------

    async def on_command(self, args: AsyncArgs) -> None:
        """Slash commands: /barrier, /success, /kudos, /looplink [status|agenda|digest|mine]."""
        body = args.body
        user = inbound.text(body.get("user_id"), "user_id", required=True)
        channel = inbound.text(body.get("channel_id"), "channel_id") or None
        trigger = inbound.text(body.get("trigger_id"), "trigger_id", required=True)
        where = inbound.workspace(body)
        ev = Inbound(
            PLATFORM,
            user,
            "command",
            command=inbound.text(body.get("command"), "command").lstrip("/"),
            text=await self.plain(inbound.text(body.get("text"), "text"), where),
            channel=None if _dm(channel) else channel,
            delivery_id=f"slack:command:{trigger}",
            scope=where[0],
            within=where[1],
        )
        result = await self._handle(ev, args.client)
        if result.duplicate:
            await args.ack()
            return
        if result.replies:
            await args.ack(
                text=messages_fallback(result.replies),
                blocks=messages_blocks(result.replies),
                response_type="ephemeral",
            )
        else:
            await args.ack()
        if result.form is not None:
            surface = Surface(
                user,
                trigger,
                response_url=_url(body.get("response_url")),
                where=where,
                client=args.client,
            )
            self._later(self._open(surface, result.form))

    async def on_action(self, args: AsyncArgs) -> None:
        """Buttons in messages, DMs, modals and App Home."""
        body = args.body
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            raise inbound.BadPayload("actions: expected a list of actions")
        action = inbound.obj(actions[0], "actions[0]")
        if action.get("type") != "button":
            await args.ack()
            return
        who = inbound.obj(body.get("user"), "user")
        user = inbound.text(who.get("id"), "user.id", True)
        where = inbound.workspace(body, who.get("team_id"))
        channel = inbound.text(
            inbound.obj(body.get("channel"), "channel", required=False).get("id"), "channel.id"
        )
        view = body.get("view")
        surface = Surface(
            user,
            inbound.text(body.get("trigger_id"), "trigger_id") or None,
            response_url=_url(body.get("response_url")),
            dm_channel=channel if _dm(channel) else None,
            view=inbound.obj(view, "view") if view is not None else None,
            where=where,
            client=args.client,
        )
        action_ts = inbound.text(action.get("action_ts"), "action_ts", required=True)
        value = action.get("value")
        ev = Inbound(
            PLATFORM,
            user,
            "action",
            action=neutral_action(inbound.text(action.get("action_id"), "action_id")),
            value="" if value is None else str(value),
            channel=None if _dm(channel) or not channel else channel,
            delivery_id=f"slack:action:{user}:{action_ts}",
            scope=where[0],
            within=where[1],
        )
        dm = surface.dm_channel
        queue = self._dm_queue(dm, offer_form=False) if dm else None
        result = await self._handle(ev, args.client, queue)
        if dm:
            await self._queue_dm(result, user, dm, offer_form=False, client=args.client)
        await args.ack()
        if not result.duplicate:
            self._later(self._show(surface, result))

    async def on_shortcut(self, args: AsyncArgs) -> None:
        """'Report as barrier' on any message (pre-filled), and the global shortcuts."""
        body = args.body
        who = inbound.obj(body.get("user"), "user")
        user = inbound.text(who.get("id"), "user.id", True)
        where = inbound.workspace(body, who.get("team_id"))
        trigger = inbound.text(body.get("trigger_id"), "trigger_id", required=True)
        text = ""
        if body.get("type") == "message_action":
            message = inbound.obj(body.get("message"), "message", required=False)
            said = inbound.text(message.get("text"), "message.text")
            text = (await self.plain(said, where))[:MAX_TEXT]
        which = SHORTCUTS.get(str(body.get("callback_id")), "barrier")
        ev = Inbound(
            PLATFORM,
            user,
            "action",
            action=f"open:{which}",
            value=text,
            delivery_id=f"slack:shortcut:{trigger}",
            scope=where[0],
            within=where[1],
        )
        result = await self._handle(ev, args.client)
        await args.ack()
        if not result.duplicate:
            surface = Surface(
                user,
                trigger,
                response_url=_url(body.get("response_url")),
                where=where,
                client=args.client,
            )
            self._later(self._show(surface, result))

    async def on_submit(self, args: AsyncArgs) -> None:
        """A submitted modal: the form's flow; field errors keep the modal open."""
        body = args.body
        view = inbound.obj(body.get("view"), "view")
        who = inbound.obj(body.get("user"), "user")
        user = inbound.text(who.get("id"), "user.id", True)
        where = inbound.workspace(body, who.get("team_id"))
        view_id = inbound.text(view.get("id"), "view.id", required=True)
        sub = read_submission(view)
        if sub.users:
            people, _ = await self._lookup(where, set(sub.users.values()), set())
            for name, uid in sub.users.items():
                sub.values[name] = f"@{people[uid]}" if uid in people else uid
        ev = Inbound(
            PLATFORM,
            user,
            "submit",
            form_id=sub.form_id,
            values=sub.values,
            context=sub.context,
            delivery_id=f"slack:view:{view_id}:{view.get('hash')}",
            scope=where[0],
            within=where[1],
        )
        result = await self._handle(ev, args.client)
        if result.duplicate:
            await args.ack()
        elif result.errors:
            given = view.get("blocks")
            blocks = [
                str(b.get("block_id"))
                for b in (given if isinstance(given, list) else [])
                if isinstance(b, dict) and b.get("type") == "input" and b.get("block_id")
            ]
            errors: dict[str, str] = {}
            for name, msg in result.errors.items():
                key = name if name in blocks else (blocks[0] if blocks else name)
                errors[key] = f"{errors[key]} {msg}" if key in errors else msg
            await args.ack(response_action="errors", errors=errors)
        elif result.form is not None:
            await args.ack(
                response_action="update",
                view=form_view(result.form, await self._slack_users(result.form, where)),
            )
        elif result.replies:
            await args.ack(
                response_action="update", view=notice_view(result.replies, words=result.words)
            )
        else:
            await args.ack()

    async def on_closed(self, args: AsyncArgs) -> None:
        await args.ack()

    async def on_message(self, args: AsyncArgs) -> None:
        """A direct message to the bot (its Messages tab): the DM conversation."""
        event = args.event or {}
        if (
            event.get("channel_type") != "im"
            or event.get("subtype")
            or event.get("bot_id")
            or not event.get("user")
        ):
            return
        user = inbound.text(event.get("user"), "event.user", required=True)
        channel = inbound.text(event.get("channel"), "event.channel", required=True)
        event_id = inbound.text(args.body.get("event_id"), "event_id", required=True)
        where = inbound.workspace(args.body, event.get("user_team"))
        ev = Inbound(
            PLATFORM,
            user,
            "text",
            text=await self.plain(inbound.text(event.get("text"), "event.text"), where),
            channel=None,
            delivery_id=f"slack:event:{event_id}",
            scope=where[0],
            within=where[1],
        )
        result = await self._handle(ev, args.client, self._dm_queue(channel, offer_form=True))
        await self._queue_dm(result, user, channel, offer_form=True, client=args.client)

    async def on_home(self, args: AsyncArgs) -> None:
        """App Home: the person's reports and, for leads, their team's queue."""
        event = args.event or {}
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        user = inbound.text(event.get("user"), "event.user", required=True)
        where = inbound.workspace(args.body)
        home = Inbound(PLATFORM, user, "command", command="home", scope=where[0], within=where[1])
        result = await self._handle(home, args.client)
        self._later(self._publish_home(args.client, user, result.replies))
        if result.person_id is not None:
            self._later(self._refresh_locale(args.client, home, result))

    async def _publish_home(
        self, client: AsyncWebClient, user: str, replies: list[Message]
    ) -> None:
        await client.views_publish(user_id=user, view=home_view(replies))

    async def _refresh_locale(
        self, client: AsyncWebClient, home: Inbound, shown: FlowResult
    ) -> None:
        """Someone who changed their Slack language later: read it again (at most once a day,
        when they open App Home themselves, after it is shown) and, when it changed, let the
        router keep it (it counts only when neither they nor the org file chose a language)
        and show the Home again in it."""
        key = f"{home.scope}|{home.user_id}"
        now = asyncio.get_running_loop().time()
        last = self._locale_read.get(key)
        if last is not None and now - last < self.locale_refresh:
            return
        if len(self._locale_read) >= EMAIL_CACHE:
            self._locale_read.clear()
        self._locale_read[key] = now
        cached = self._profiles.pop(key, None)
        _email, locale = await self._profile(client, home.scope, home.user_id)
        if locale is None or (cached is not None and cached[1] == locale):
            return
        again = await self._handle(replace(home, locale=locale), client)
        if again.replies != shown.replies:
            await self._publish_home(client, home.user_id, again.replies)

    async def on_uninstalled(self, args: AsyncArgs) -> None:
        """A workspace (or organisation) removed Looplink: record it; deliveries there stop."""
        await self._revoked(args, "app_uninstalled")

    async def on_tokens_revoked(self, args: AsyncArgs) -> None:
        """Looplink's tokens for a workspace were revoked: the same, for its bot token."""
        tokens = inbound.obj((args.event or {}).get("tokens"), "event.tokens", required=False)
        if tokens.get("bot"):
            await self._revoked(args, "tokens_revoked")

    async def _revoked(self, args: AsyncArgs, reason: str) -> None:
        team, grid = inbound.workspace(args.body)
        if self.store is not None:
            await self.store.revoke(grid[0] if grid else None, team or None, reason)
        else:
            log.warning(
                "Slack: %s for workspace %s: SLACK_BOT_TOKEN no longer works there; deliveries "
                "to it will fail until Looplink is installed again and the new token is set",
                reason,
                team or "-",
            )
