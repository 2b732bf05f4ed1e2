"""One inbound Teams activity: who sent it, remember where they are, route it, show the result.

Works on Activity JSON and the connector REST client only (no SDK), so `platform.py` is the
only place that knows how the activity arrived and was authenticated.

Where a result is shown:
- Personal chat: replies and forms are messages in the chat, queued in the outbox (in the same
  transaction as the change they answer) and delivered at once from there, so an answer given
  while the connector is down arrives when it is back, once, even after a restart. A card
  action (an invoke) gets its answer on the card itself: a form replaces the card, a
  submitted form becomes its confirmation, and button replies are queued as new messages.
  Only a stranger (not in the directory: nobody to queue for) and the card-shaped answers to
  an older client's Action.Submit are posted directly.
- Team channels and group chats: only the person who acted sees the answer. A card action gets
  an invoke response (Teams shows it to that person only): a form, the form with its errors, or
  the card it was pressed on, current, with the reply on top. A typed `@Looplink command` is
  answered in the person's personal chat (opened if needed), with a one-line note in the thread:
  replies such as `mine` list one's own, possibly anonymous, reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.teams.cards import (
    CARD_TYPE,
    CardAction,
    activity,
    card,
    card_response,
    form_card,
    message_activity,
    message_card,
    message_response,
    replies_card,
    text_blocks,
)
from adapters.teams.connector import BotConnector, ConnectorError
from adapters.teams.inbound import (
    TeamsActivity,
    card_action,
    clean_text,
    conversation_ref,
    installed,
    parse,
)
from adapters.teams.settings import INFO
from bot import i18n
from bot.db.models import ConversationRef, Outbox
from bot.directory import Directory
from bot.i18n import N_
from bot.identity import Caller, Identities, Identity
from bot.messages import Message
from bot.outbox import channel_key, enqueue, save_conversation_ref, usable
from bot.runtime import Runtime
from flows.events import FlowResult, Inbound
from flows.router import handle

log = logging.getLogger("looplink.teams")

PLATFORM = INFO.name
KEY, AAD_KEY = INFO.person_keys  # `teams:` (29:...) and `teams_aad:` (Entra object id)
ADAPTIVE_ACTION = "adaptiveCard/action"
CANCELLED = "Cancelled. Nothing was sent."
ALREADY = N_("That was already done.")
PRIVATE_NOTE = "I've answered you in our personal chat."
NO_PRIVATE = (
    "I answer commands privately, but I can't open a personal chat with you yet. Find Looplink "
    "under Apps, open it, say hi, and then try again."
)
OUT_OF_DATE = N_("This card is out of date. Type 'help' in a chat with me to start again.")
EMAIL_CACHE = 2000

Json = dict[str, Any]


@dataclass(frozen=True)
class InvokeReply:
    status: int
    body: Json


@dataclass(frozen=True)
class Answer:
    """An invoke response, plus replies to queue for the person in their personal chat."""

    response: Json
    result: FlowResult


@dataclass
class Who:
    user_id: str  # the sender's Teams user id (29:...)
    email: str | None
    person_id: str | None
    identity: Identity | None = None  # the sender's identity that is the person's


def caller(a: TeamsActivity, email: str | None) -> Caller:
    """The sender as the identity model sees them: their ids inside their tenant."""
    return Caller(PLATFORM, ((KEY, a.user_id), *alt_ids(a)), scope=a.tenant_id, email=email)


def alt_ids(a: TeamsActivity) -> tuple[tuple[str, str], ...]:
    """The sender's Microsoft Entra object id, the other key people may be known by."""
    return ((AAD_KEY, a.aad_id),) if a.aad_id else ()


def in_tenant(act: Json, tenant: str) -> Json:
    """The activity with its tenant set (`channelData.tenant.id`), as every post Looplink
    makes carries it: Teams needs it to route a proactive message into the right tenant."""
    if not tenant:
        return act
    return {**act, "channelData": {**(act.get("channelData") or {}), "tenant": {"id": tenant}}}


def _tenant_of(ref: Json) -> str:
    """The tenant of a stored conversation (a person's chat may be in another of their
    tenants than the activity being answered)."""
    return str((ref.get("conversation") or {}).get("tenantId") or "")


def summary(replies: list[Message]) -> str:
    """The words of some replies, for a notice on a card or a short invoke message."""
    parts = []
    for m in replies:
        parts += [p for p in (m.title, m.text) if p]
    return "\n".join(parts)


class TeamsTurns:
    def __init__(self, rt: Runtime, connector: BotConnector) -> None:
        self.rt = rt
        self.connector = connector
        self._emails: dict[str, str | None] = {}

    # ---- entry point ------------------------------------------------------------------------

    async def on_activity(self, raw: Json) -> InvokeReply | None:
        """Handle one activity; for an invoke, the response to send back over HTTP."""
        a = parse(raw)
        if a.type in ("installationUpdate", "conversationUpdate"):
            who = await self._identify(a)
            if a.type == "installationUpdate" and a.personal and installed(a):
                await self._welcome(a, who)
            return None
        if a.type == "message":
            await self._message(a)
            return None
        if a.is_invoke:
            if a.name != ADAPTIVE_ACTION:
                return InvokeReply(501, {})
            return InvokeReply(200, await self._invoke(a))
        return None

    # ---- who, and where to find them later -----------------------------------------------

    async def _identify(self, a: TeamsActivity) -> Who:
        """Match the sender in the directory and store this conversation's reference.

        The roster's email is asked for only when the sender is unknown and the activity comes
        from one of the organisation's tenants: it can link them (bot/identity.py).
        """
        who = await self._remember(a, None)
        if who.person_id is None and a.user_id and await self._in_own_tenant(a):
            email = await self._email(a)
            if email:
                who = await self._remember(a, email)
        return who

    async def _in_own_tenant(self, a: TeamsActivity) -> bool:
        async with self.rt.db.transaction() as s:
            return bool(await Identities(s).places(INFO, [a.tenant_id]))

    async def _remember(self, a: TeamsActivity, email: str | None) -> Who:
        """Identify the sender; keep a reference to their personal chat (for their identity
        only) and to a team's channel (from an activity posted in it, in the team's tenant)."""
        now = self.rt.clock.now()
        async with self.rt.db.transaction() as s:
            ids = Identities(s)
            known = await ids.identify(INFO, caller(a, email))
            who = Who(
                a.user_id,
                email,
                known.person.id if known else None,
                known.identity if known else None,
            )
            if not a.service_url or not a.conversation_id:
                return who
            if a.personal and known is not None:
                await save_conversation_ref(
                    s,
                    "person",
                    known.person.id,
                    PLATFORM,
                    conversation_ref(a),
                    now,
                    scope=known.identity.scope,
                    identity=known.identity.value,
                )
            elif a.in_team_channel:
                for channel in {a.channel_id, a.team_id} - {""}:
                    team = await ids.team_for_channel(INFO, channel, [a.tenant_id])
                    if team is not None:
                        ref = conversation_ref(a, channel)
                        await save_conversation_ref(
                            s, "team", team.id, PLATFORM, ref, now, scope=a.tenant_id
                        )
            return who

    async def _email(self, a: TeamsActivity) -> str | None:
        """The sender's email from the conversation roster, when their ids are not known."""
        cache_key = f"{a.tenant_id}|{a.user_id}"
        if cache_key in self._emails:
            return self._emails[cache_key]
        email: str | None = None
        try:
            conversation = a.conversation_id.split(";", 1)[0]  # a channel, not its thread
            member = await self.connector.member(a.service_url, conversation, a.user_id)
            email = str(member.get("email") or member.get("userPrincipalName") or "") or None
        except ConnectorError as e:
            log.info("could not read a Teams member of a conversation: %s", e)
            return None
        if len(self._emails) >= EMAIL_CACHE:
            self._emails.clear()
        self._emails[cache_key] = email
        return email

    # ---- messages ---------------------------------------------------------------------------

    async def _welcome(self, a: TeamsActivity, who: Who) -> None:
        ev = Inbound(
            PLATFORM,
            who.user_id,
            "command",
            command="help",
            delivery_id=a.delivery_id,
            email=who.email,
            scope=a.tenant_id,
            alt_ids=alt_ids(a),
            locale=a.locale,
        )
        await self._personal(a, ev)

    async def _personal(self, a: TeamsActivity, ev: Inbound) -> None:
        """Answer an event in a personal chat through the outbox (see the module docstring)."""
        result = await handle(self.rt, ev, queue_replies=self._queue_answers)
        if not result.queued and not result.duplicate:
            if result.person_id is None:  # a stranger: nobody to queue for
                await self._post(a, self._activities(result))
                return
            async with self.rt.db.transaction() as s:  # an error changed nothing: queue alone
                await self._queue_answers(s, result)
        await self._deliver_answers(result.person_id)

    @staticmethod
    def _answer_messages(result: FlowResult) -> list[Message]:
        out = list(result.replies)
        if result.form is not None:  # a form alone in a message: sent as the form's card
            out.append(Message(text="", form=result.form))
        return out

    async def _queue_answers(self, s: AsyncSession, result: FlowResult) -> None:
        if result.person_id is None:
            return
        now = self.rt.clock.now()
        for m in self._answer_messages(result):
            await enqueue(s, self.rt.fanout, now, "person", result.person_id, m, platform=PLATFORM)

    async def _queue_alone(self, result: FlowResult) -> None:
        """Queue a card action's replies in their own transaction (the change is already
        stored; whether they are shown on the card or as messages was decided after it)."""
        async with self.rt.db.transaction() as s:
            await self._queue_answers(s, result)
        await self._deliver_answers(result.person_id)

    async def _deliver_answers(self, person_id: str | None) -> None:
        """Deliver the person's queued answers now, in order; a failure stays queued."""
        if person_id is not None:
            await self.rt.dispatcher.run_once([channel_key(PLATFORM, "person", person_id)])

    async def _message(self, a: TeamsActivity) -> None:
        who = await self._identify(a)
        act = card_action(a)
        if act is not None:  # Action.Submit (older clients): same meaning, answered as messages
            answer = await self._card_action(a, who, act)
            if isinstance(answer, Answer):
                await self._queue_alone(answer.result)
            elif answer["type"] == CARD_TYPE:
                await self._answer(a, who, [activity(answer["value"])])
            else:
                said = str(answer["value"])
                await self._answer(a, who, [activity(card(text_blocks(said)), said)])
            return
        if a.raw.get("value") is not None and not a.raw.get("text"):
            return  # some other card's data, not ours
        text = clean_text(a)
        if a.personal:
            ev = Inbound(
                PLATFORM,
                who.user_id,
                "text",
                text=text,
                delivery_id=a.delivery_id,
                email=who.email,
                scope=a.tenant_id,
                alt_ids=alt_ids(a),
                locale=a.locale,
            )
            await self._personal(a, ev)
            return
        else:  # a channel or group chat: `@Looplink status` is a command
            word, _, rest = text.partition(" ")
            ev = Inbound(
                PLATFORM,
                who.user_id,
                "command",
                command=word.lower().lstrip("/") or "help",
                text=rest.strip(),
                channel=a.channel_id or a.conversation_id,
                delivery_id=a.delivery_id,
                email=who.email,
                scope=a.tenant_id,
                alt_ids=alt_ids(a),
                locale=a.locale,
            )
        result = await handle(self.rt, ev)
        if a.in_team_channel and not result.duplicate:  # `link TEAM` may have made it a team's
            await self._remember(a, who.email)
        await self._answer(a, who, self._activities(result))

    def _activities(self, result: FlowResult) -> list[Json]:
        out = [message_activity(m) for m in result.replies]
        if result.form is not None:
            out.append(activity(form_card(result.form), result.form.title))
        return out

    async def _answer(self, a: TeamsActivity, who: Who, activities: list[Json]) -> None:
        """Show a result to the person who acted: here in a personal chat, else privately."""
        if not activities:
            return
        if a.personal or who.person_id is None:
            await self._post(a, activities)
            return
        if await self._post_privately(a, who, activities):
            await self._post(a, [activity(card(text_blocks(PRIVATE_NOTE)), PRIVATE_NOTE)])
        else:
            await self._post(a, [activity(card(text_blocks(NO_PRIVATE)), NO_PRIVATE)])

    async def _post(self, a: TeamsActivity, activities: list[Json]) -> None:
        """Post in the activity's own conversation (in a channel: in its thread)."""
        for act in (in_tenant(x, a.tenant_id) for x in activities):
            try:
                if a.id and not a.personal:
                    await self.connector.reply(a.service_url, a.conversation_id, a.id, act)
                else:
                    await self.connector.post(a.service_url, a.conversation_id, act)
            except ConnectorError as e:  # the change itself is saved; only this answer is lost
                log.warning("could not answer in Teams conversation: %s", e)
                return

    async def _post_privately(self, a: TeamsActivity, who: Who, activities: list[Json]) -> bool:
        assert who.person_id is not None and who.identity is not None
        async with self.rt.db.transaction() as s:
            row = await s.get(ConversationRef, ("person", who.person_id, PLATFORM))
            mine = await Directory(s).ids_of("person", who.person_id)
            ref = dict(row.ref) if row is not None and usable(row, mine) else None
        try:
            if ref is None:
                conversation_id = await self.connector.create_personal(
                    a.service_url, a.bot_id, a.user_id, a.tenant_id
                )
                ref = {
                    "channelId": "msteams",
                    "serviceUrl": a.service_url,
                    "conversation": {
                        "id": conversation_id,
                        "conversationType": "personal",
                        "tenantId": a.tenant_id,
                    },
                    "bot": {"id": a.bot_id, "name": a.bot_name},
                    "user": {"id": a.user_id, "aadObjectId": a.aad_id},
                }
                async with self.rt.db.transaction() as s:
                    await save_conversation_ref(
                        s,
                        "person",
                        who.person_id,
                        PLATFORM,
                        ref,
                        self.rt.clock.now(),
                        scope=who.identity.scope,
                        identity=who.identity.value,
                    )
            for act in activities:
                await self.connector.post(
                    str(ref.get("serviceUrl") or a.service_url),
                    str(ref["conversation"]["id"]),
                    in_tenant(act, _tenant_of(ref) or a.tenant_id),
                )
        except (ConnectorError, KeyError, TypeError) as e:
            log.info("could not answer privately in Teams: %s", e)
            return False
        return True

    # ---- card actions -------------------------------------------------------------------

    async def _invoke(self, a: TeamsActivity) -> Json:
        who = await self._identify(a)
        act = card_action(a)
        if act is None:
            return message_response(_said(OUT_OF_DATE, a))
        answer = await self._card_action(a, who, act)
        if isinstance(answer, Answer):
            await self._queue_alone(answer.result)
            return answer.response
        return answer

    async def _card_action(self, a: TeamsActivity, who: Who, act: CardAction) -> Json | Answer:
        """The invoke response for a card action, and any messages to post in the chat."""
        if act.kind == "cancel":
            latest = await self._latest(act.key, a, who)
            if latest is not None:
                return card_response(message_card(latest, act.key))
            return card_response(card(text_blocks(CANCELLED), fallback=CANCELLED))
        if act.kind == "action":
            ev = Inbound(
                PLATFORM,
                who.user_id,
                "action",
                action=act.action,
                value=act.value,
                channel=None if a.personal else (a.channel_id or a.conversation_id),
                delivery_id=a.delivery_id,
                email=who.email,
                scope=a.tenant_id,
                alt_ids=alt_ids(a),
                locale=a.locale,
            )
        else:
            ev = Inbound(
                PLATFORM,
                who.user_id,
                "submit",
                form_id=act.form_id,
                values=act.values,
                context=act.context,
                channel=None if a.personal else (a.channel_id or a.conversation_id),
                delivery_id=a.delivery_id,
                email=who.email,
                scope=a.tenant_id,
                alt_ids=alt_ids(a),
                locale=a.locale,
            )
        result = await handle(self.rt, ev)
        if result.duplicate:
            return message_response(_said(ALREADY, a))
        if result.form is not None:
            return card_response(form_card(result.form, key=act.key))
        if result.errors:
            if act.form is not None:
                return card_response(form_card(act.form, result.errors, act.values, act.key))
            return message_response(" ".join(result.errors.values()))
        said = summary(result.replies)
        latest = await self._latest(act.key, a, who)
        if latest is not None:
            return card_response(message_card(latest, act.key, notice=said))
        if act.kind == "submit":
            return card_response(replies_card(result.replies))
        if a.personal and result.replies:
            return Answer(message_response(result.words.get("done", "Done.")), result)
        return message_response(said or result.words.get("done", "Done."))

    async def _latest(self, key: str | None, a: TeamsActivity, who: Who) -> Message | None:
        """The newest version of the card with this update key, as queued for Teams, if that
        card belongs where the person acted (their team's channel, or their own chat)."""
        if not key:
            return None
        async with self.rt.db.transaction() as s:
            row = (
                await s.scalars(
                    select(Outbox)
                    .where(Outbox.platform == PLATFORM, Outbox.update_key == key)
                    .order_by(Outbox.id.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                return None
            if row.dest_kind == "team":
                channel = await Directory(s).platform_id("team", row.dest_id, PLATFORM)
                here = {a.channel_id, a.team_id, a.conversation_id.split(";", 1)[0]} - {""}
                if channel is None or channel not in here:
                    return None
            elif row.dest_id != who.person_id:
                return None
            return Message.from_json(row.payload)


def _said(message: str, a: TeamsActivity) -> str:
    """One of our own answers before anyone is known, in the language Teams reports."""
    with i18n.speaking(i18n.normalize(a.locale) or i18n.SOURCE):
        return i18n._(message)
