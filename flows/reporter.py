"""The reporter's side of an answer and of their own report: "Got it" / one response,
changing the fix-worked answer, muting progress updates, withdrawing or correcting a report
nobody has acted on yet."""

from __future__ import annotations

from bot.db.models import Item
from bot.errors import InvalidInput
from bot.i18n import _
from bot.messages import Form, FormField, Message
from bot.texts import texts
from flows.events import FlowResult
from flows.forms import locus_options
from flows.registry import Ctx, action, command, form


def _words(which: str, item: Item | None = None, **kw: object) -> str:
    return texts().render("reporter_words", which=which, item=item, **kw)


@action("confirm")
async def confirm_button(ctx: Ctx, which: str, value: str) -> FlowResult:
    """ "Got it", or "I still have a question" / "Respond to this decision" (opens a form)."""
    if which == "got_it":
        item = await ctx.loop.confirm(ctx.person.id, value)
        return FlowResult(replies=[Message(text=_words("confirmed", item))])
    if which != "question":
        raise InvalidInput(_("That button is out of date; please use the latest message."))
    item = await ctx.loop.item(value)
    if item.reporter_ack == "question":
        return FlowResult(replies=[Message(text=_words("once", item))])
    fields = (FormField("text", _words("question_field", item), "textarea", required=True),)
    return FlowResult(
        form=Form(
            "reporter_question",
            _words("question_title", item),
            fields,
            submit_label=_words("send", item),
            context={"item": str(item.id)},
        )
    )


@form("reporter_question")
async def question_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    text = str(values.get("text") or "").strip()
    if not text:
        item = await ctx.loop.item(context.get("item", ""))
        return FlowResult(errors={"text": _words("write_it", item)})
    item = await ctx.loop.respond(ctx.person.id, context.get("item", ""), text)
    return FlowResult(replies=[Message(text=_words("responded", item))])


@action("feedback_change")
async def change_answer_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    item = await ctx.loop.change_answer(ctx.person.id, value)
    return FlowResult(replies=[Message(text=_words("changing", item))])


@action("updates")
async def updates_button(ctx: Ctx, which: str, _value: str) -> FlowResult:
    return await _updates(ctx, which)


@command("updates")
async def updates_command(ctx: Ctx, args: str) -> FlowResult:
    """Progress updates on your reports: updates off | updates on"""
    return await _updates(ctx, args.strip().lower())


async def _updates(ctx: Ctx, which: str) -> FlowResult:
    if which not in ("on", "off"):
        raise InvalidInput(
            "Type 'updates off' to mute progress updates, 'updates on' to hear them."
        )
    await ctx.loop.set_updates(ctx.person.id, which == "on")
    return FlowResult(replies=[Message(text=_words("unmuted" if which == "on" else "muted"))])


@action("withdraw")
async def withdraw_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    return await _withdraw(ctx, value)


@command("withdraw")
async def withdraw_command(ctx: Ctx, args: str) -> FlowResult:
    """Take back your report while nobody has acted on it: withdraw #12"""
    return await _withdraw(ctx, args.strip())


async def _withdraw(ctx: Ctx, value: str) -> FlowResult:
    item = await ctx.loop.withdraw(ctx.person.id, value)
    team = await ctx.loop.dir.team(item.holding_team_id)
    return FlowResult(replies=[Message(text=_words("withdrawn", item, team=team))])


@action("correct")
async def correct_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    return await _correct_form(ctx, value)


@command("correct")
async def correct_command(ctx: Ctx, args: str) -> FlowResult:
    """Correct your report while nobody has acted on it: correct #12"""
    return await _correct_form(ctx, args.strip())


def correct_form(item: Item) -> Form:
    return Form(
        "correct",
        _words("correct_title", item),
        (
            FormField(
                "summary", _("What is getting in the way"), "textarea", True, initial=item.summary
            ),
            FormField("details", _("Where, when, how often"), "textarea", initial=item.details),
            FormField(
                "locus",
                _("Is this within your team's control?"),
                "select",
                options=locus_options(),
                initial=item.locus,
            ),
            FormField("evidence", _("How do you know?"), "textarea", initial=item.evidence),
        ),
        context={"item": str(item.id)},
    )


async def _correct_form(ctx: Ctx, value: str) -> FlowResult:
    item = await ctx.loop.untouched(ctx.person.id, value)
    return FlowResult(form=correct_form(item))


@form("correct")
async def correct_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    if not str(values.get("summary") or "").strip():
        return FlowResult(errors={"summary": _("Please say what is getting in the way.")})
    changes = {k: str(values.get(k) or "") for k in ("summary", "details", "locus", "evidence")}
    item = await ctx.loop.correct(ctx.person.id, context.get("item", ""), changes)
    return FlowResult(replies=[Message(text=_words("corrected", item))])
