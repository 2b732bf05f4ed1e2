"""Route one neutral inbound event to its flow, inside one transaction, exactly once.

- A delivery id seen before returns `duplicate=True` and changes nothing.
- A LoopError rolls the whole unit back and becomes a polite reply.
- Any other error rolls back too and becomes a generic apology (details only in the log).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import flows.admin
import flows.agenda
import flows.burst
import flows.card_actions
import flows.help
import flows.home
import flows.kudos
import flows.language
import flows.report
import flows.reporter
import flows.selfcheck
import flows.similar
import flows.triage
from bot import dircache, i18n
from bot.db.models import ConversationState, Person, ProcessedDelivery
from bot.directory import Directory
from bot.domain import MAX_TEXT
from bot.engine import Loop
from bot.errors import FieldErrors, InvalidInput, LoopError
from bot.i18n import N_, _
from bot.identity import Caller, Identities, Identity
from bot.messages import Message
from bot.runtime import Runtime
from bot.texts import texts
from flows.events import FlowResult, Inbound
from flows.registry import ACTIONS, COMMANDS, FORMS, Ctx, fold

log = logging.getLogger("looplink.flows")

CANCEL = {"cancel", "stop", "quit", "exit", "cancelar", "parar", "salir"}
SORRY = N_(
    "Sorry, something went wrong on our side and nothing was saved. Please try again in a moment."
)


class _Rollback(Exception):
    def __init__(self, result: FlowResult) -> None:
        self.result = result


def _clean(value: str) -> str:
    """PostgreSQL text cannot hold NUL; nobody means to type one. Drop it everywhere."""
    return value.replace("\x00", "") if "\x00" in value else value


def clean(ev: Inbound) -> Inbound:
    return replace(
        ev,
        text=_clean(ev.text),
        command=_clean(ev.command),
        action=_clean(ev.action),
        value=_clean(ev.value),
        form_id=_clean(ev.form_id),
        values={_clean(k): _clean(v) if isinstance(v, str) else v for k, v in ev.values.items()},
        context={_clean(k): _clean(v) for k, v in ev.context.items()},
    )


async def handle(
    rt: Runtime,
    ev: Inbound,
    queue_replies: Callable[[AsyncSession, FlowResult], Awaitable[None]] | None = None,
) -> FlowResult:
    """Handle one inbound event; never raises for a person's mistake.

    `queue_replies`: where the answer to the person is itself an outgoing message (a direct
    message), the adapter queues it here, in the same transaction as the change and the
    delivery id: either all three are stored or none is (then `result.queued` is True).

    Every answer carries the words its platform adds around it ("Close", "Done.", "That was
    already done."), in its reader's language: also a refusal, a stranger's answer and an
    apology, which are decided before or without the person's own language.
    """
    result = await _handle(rt, ev, queue_replies)
    if not result.words and not result.duplicate:
        with i18n.speaking(await _fallback_reader(rt, ev, result.person_id)):
            result.words = platform_words()
    return result


async def _fallback_reader(rt: Runtime, ev: Inbound, person_id: str | None) -> i18n.Reader | str:
    """The person's language when known, else the platform's, else the organisation's (the
    database may be what failed: then the platform's, else English)."""
    try:
        async with rt.db.transaction() as s:
            directory = Directory(s)
            if person_id is not None:
                return await directory.person_reader(person_id, ev.locale)
            return i18n.normalize(ev.locale) or await directory.org_language()
    except Exception:  # the words must not fail the answer they go with
        log.warning("no language for the words of an answer; the platform's or English")
        return i18n.normalize(ev.locale) or i18n.SOURCE


async def _handle(
    rt: Runtime,
    ev: Inbound,
    queue_replies: Callable[[AsyncSession, FlowResult], Awaitable[None]] | None,
) -> FlowResult:
    ev = clean(ev)
    try:
        async with rt.db.transaction() as s:
            if ev.delivery_id and await s.get(ProcessedDelivery, ev.delivery_id) is not None:
                return FlowResult(duplicate=True)
            await dircache.attach(s)  # who is who, from memory while the directory is unchanged
            loop = Loop(s, rt.clock, rt.fanout)
            known = await _who(rt, loop, s, ev)
            if known is None:
                lang = i18n.normalize(ev.locale) or await loop.dir.org_language()
                with i18n.speaking(lang):
                    hello = _(
                        "Hello! I don't know you yet: you are not in this organisation's Looplink directory. Ask your implementation specialist to add you to the org file."
                    )
                return FlowResult(
                    unknown=not ev.email and await _from_own_workspace(rt, s, ev),
                    replies=[Message(text=hello)],
                )
            person, identity, places = known
            person = await s.merge(person, load=False)  # a cached copy: this session's own
            if _remember_locale(person, ev.locale):
                await dircache.directory_changed(s)
            ctx = Ctx(rt, s, loop, person, ev, places)
            try:
                with i18n.speaking(await loop.dir.person_reader(person, ev.locale)):
                    result = await _dispatch(ctx)
                    result.words = platform_words()
            except LoopError as e:
                raise _Rollback(_refused(e, ev, person, identity)) from e
            if result.errors:
                result.person_id, result.identity = person.id, identity
                raise _Rollback(result)
            result.person_id = person.id
            result.identity = identity
            if queue_replies is not None:
                await queue_replies(s, result)
                result.queued = True
            if ev.delivery_id:
                s.add(ProcessedDelivery(key=ev.delivery_id, at=rt.clock.now(), result={}))
                await s.flush()
            return result
    except _Rollback as rb:
        return rb.result
    except IntegrityError:
        if ev.delivery_id:  # a concurrent duplicate won the race: this one did nothing
            return FlowResult(duplicate=True)
        log.exception("integrity error handling a %s %s event", ev.platform, ev.kind)
        return FlowResult(replies=[Message(text=_sorry(ev))])
    except Exception:
        log.exception("error handling a %s %s event", ev.platform, ev.kind)
        return FlowResult(replies=[Message(text=_sorry(ev))])


def platform_words() -> dict[str, str]:
    """What adapters add around an answer, in the language being spoken."""
    return {
        "close": _("Close"),
        "done": _("Done."),
        "already": _("That was already done."),
        "use_button": _("Please use the button on the message above again."),
    }


def _sorry(ev: Inbound) -> str:
    """The apology, in the language the platform reports (the database may be what failed)."""
    with i18n.speaking(i18n.normalize(ev.locale) or i18n.SOURCE):
        return _(SORRY)


def _remember_locale(person: Person, locale: str | None) -> bool:
    """Keep the language the platform reports for the person (used when neither they nor the
    org file chose one); True when it changed."""
    lang = i18n.normalize(locale)
    if lang is not None and person.platform_locale != lang:
        person.platform_locale = lang
        return True
    return False


def _refused(e: LoopError, ev: Inbound, person: Person, identity: Identity | None) -> FlowResult:
    """What the person is told when the loop refuses: a submitted form stays open with
    everything typed in it and the words next to the fields; anything else is a reply."""
    if isinstance(e, FieldErrors) and ev.kind == "submit":
        return FlowResult(errors=e.fields, person_id=person.id, identity=identity)
    return FlowResult(replies=[Message(text=str(e))], person_id=person.id, identity=identity)


async def _who(
    rt: Runtime, loop: Loop, s: AsyncSession, ev: Inbound
) -> tuple[Person, Identity | None, tuple[str, ...]] | None:
    """The active person behind the event, the identity that says so and the declared
    workspaces it came from; None for a stranger (the identity model: bot/identity.py)."""
    if rt.fanout.native(ev.platform):  # the platform's user ids are person ids
        person = await loop.dir.person(ev.user_id)
        return (person, None, ()) if person is not None and person.active else None
    info = rt.fanout.info(ev.platform)
    if info is None or not info.person_keys:
        return None
    caller = Caller(
        ev.platform,
        ((info.person_keys[0], ev.user_id), *ev.alt_ids),
        scope=ev.scope,
        within=ev.within,
        email=ev.email,
    )
    known = await Identities(s).identify(info, caller)
    return None if known is None else (known.person, known.identity, known.places)


async def _from_own_workspace(rt: Runtime, s: AsyncSession, ev: Inbound) -> bool:
    """Whether the event comes from one of the organisation's declared workspaces."""
    info = rt.fanout.info(ev.platform)
    if info is None or info.native_ids:
        return False
    return bool(await Identities(s).places(info, [ev.scope, *ev.within]))


def _split(text: str) -> tuple[str, str]:
    word, _sep, rest = text.strip().partition(" ")
    return fold(word.lstrip("/")), rest.strip()


async def _dispatch(ctx: Ctx) -> FlowResult:
    ev = ctx.ev
    if len(ev.text) > MAX_TEXT * 2:
        raise InvalidInput(
            _(
                "That message is too long (%(n)s characters). Please keep it under %(max)s.",
                n=len(ev.text),
                max=MAX_TEXT * 2,
            )
        )
    if ev.kind == "command":
        name, args = (fold(ev.command.lstrip("/")), ev.text.strip())
        if name == "looplink":  # /looplink status|agenda|digest|mine|help ...
            name, args = _split(args) if args else ("help", "")
        return await _command(ctx, name, args)
    if ev.kind == "action":
        prefix, _sep, suffix = ev.action.partition(":")
        handler = ACTIONS.get(prefix)
        if handler is None:
            raise InvalidInput(
                _("That button is not something I know any more. Type 'help' to start again.")
            )
        return await handler(ctx, suffix, ev.value)
    if ev.kind == "submit":
        form_handler = FORMS.get(ev.form_id)
        if form_handler is None:
            raise InvalidInput(
                _("That form is not something I know any more. Type 'help' to start again.")
            )
        return await form_handler(ctx, ev.values, ev.context)
    return await _text(ctx)


async def _command(ctx: Ctx, name: str, args: str) -> FlowResult:
    handler = COMMANDS.get(name)
    if handler is None:
        return FlowResult(
            replies=[Message(text=texts().render("unknown_command", command=name[:40]))]
        )
    return await handler(ctx, args)


# Mid-report, a word that is also an answer ("My class, every Tuesday") must stay an answer:
# a command is a command word alone, a word typed with its slash, or kudos naming someone.
_NAMING = ("kudos", "thanks")


def _is_command(name: str, args: str, slashed: bool) -> bool:
    if name not in COMMANDS:
        return False
    return slashed or not args or (name in _NAMING and args.startswith("@"))


async def _mid_report(
    ctx: Ctx, steps: ConversationState, text: str, is_command: bool
) -> FlowResult:
    """A message while a step-by-step report is in progress: an answer, or a command that
    runs while the draft waits (and the bot says so); a draft unanswered for too long is set
    aside first (it keeps its answers; 'resume' picks it up)."""
    name, args = _split(text)
    if ctx.ev.channel is None and flows.report.stale(ctx, steps):
        await flows.report.set_aside(ctx, steps)  # it waited too long: it takes no more words
        if not is_command:
            return FlowResult(replies=[flows.report.set_aside_note(steps, text)])
        result = await _command(ctx, name, args)
        result.replies.append(flows.report.set_aside_note(steps, ""))
        return result
    if not is_command:
        return await flows.report.continue_steps(ctx, steps, text)
    if name in ("barrier", "success"):  # one report at a time: the draft waits
        return FlowResult(replies=[await flows.report.waiting(ctx, steps)])
    result = await _command(ctx, name, args)
    if name != "resume":
        result.replies.append(await flows.report.waiting(ctx, steps))
    return result


async def _text(ctx: Ctx) -> FlowResult:
    text = ctx.ev.text.strip()
    name, args = _split(text)
    slashed = text.startswith("/")
    steps = await flows.report.active_steps(ctx)
    if name in CANCEL:
        return await flows.report.cancel_steps(ctx)
    if steps is not None and ctx.ev.channel is None:
        return await _mid_report(ctx, steps, text, _is_command(name, args, slashed))
    aside = await flows.report.aside_steps(ctx) if ctx.ev.channel is None else None
    if aside is not None and not _is_command(name, args, slashed) and name not in flows.report.SEND:
        return FlowResult(replies=[flows.report.set_aside_note(aside, text)])
    if steps is None and ctx.ev.channel is None and fold(text) in flows.report.SEND:
        late = await flows.report.late(ctx, "send")  # a draft another request just sent
        if late is not None:
            return late
    if ctx.ev.channel is not None:  # in a channel, only explicit commands get an answer
        if name in COMMANDS:
            return await _command(ctx, name, args)
        return FlowResult()
    if name in COMMANDS:
        return await _command(ctx, name, args)
    if not text:
        return await _command(ctx, "help", "")
    # Anything else written to the bot starts a step-by-step barrier report with that text.
    return await flows.report.start_steps(ctx, "barrier", text)
