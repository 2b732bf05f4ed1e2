"""Report a barrier or a success: as a one-shot form, or step by step in a direct message.

A step-by-step draft is one `ConversationState` row. Sending or cancelling it first *claims*
it: one UPDATE that succeeds only while the row is still the draft this request read (flow
"report", same version). Whatever runs at the same moment (Send clicked twice, `send` typed
four times, `send` and `cancel` together, on two database connections), one request claims
it; the others are told what happened to it ("already sent as #12"). The ended draft stays as
a marker (flow "sent" or "cancelled") until the next report starts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from bot import limits
from bot.db.models import ConversationState, Item, Team
from bot.domain import (
    ANONYMITY_MIN_TEAM,
    DRIVER_LABELS,
    LOCUS_LABELS,
    MAX_TEXT,
    STAGE_LABELS,
    Affected,
    Driver,
    Locus,
    Stage,
    Urgency,
)
from bot.engine import ReportInput
from bot.errors import InvalidInput
from bot.i18n import _
from bot.messages import Button, Message
from bot.texts import texts
from flows.events import FlowResult
from flows.forms import kudos_form, report_form
from flows.registry import Ctx, action, command, fold, form

ACTIVE, SENT, CANCELLED = "report", "sent", "cancelled"  # ConversationState.flow
# Words typed in answer, in every language Looplink speaks (compared folded: no accents).
SEND = {"send", "yes", "y", "ok", "enviar", "envialo", "si", "s"}
ASIDE = "aside"  # a draft nobody answered for DRAFT_TTL: it no longer takes messages; 'resume'
DRAFT_TTL = timedelta(hours=24)  # how long a draft waits for its next answer
LATE = timedelta(hours=1)  # how long a late "send" or "cancel" is told what became of a draft
YES = {"yes", "y", "true", "1", "anonymous", "hide", "hidden", "si", "s", "anonimo", "ocultar"}
NO = {"no", "n", "false", "0", "", "show", "mostrar"}
SKIP = {"skip", "-", "none", "n/a", "no", "omitir", "saltar", "ninguno", "nada"}
AFFECTED_WORDS = {"estudiantes": "students", "alumnos": "students", "familias": "families"}
AFFECTED_WORDS |= {"personal": "staff"}
URGENCY_WORDS = {"baja": "low", "alta": "high"}
TEXT_STEPS = ("summary", "details", "evidence", "tried", "suggestion")


async def anonymity_hint(ctx: Ctx, team: Team | None = None) -> str:
    if team is None:
        try:
            team = await ctx.loop.reporting_team(ctx.person.id)
        except Exception:
            return ""
    size = await ctx.loop.anonymity_is_weak(team.id)
    if size is None:
        return ""
    return texts().render("anonymity_warning", team=team, size=size, min_team=ANONYMITY_MIN_TEAM)


@command("barrier", "barrera", "obstaculo")
async def barrier_command(ctx: Ctx, args: str) -> FlowResult:
    """Report a barrier: what is getting in the way of the practice."""
    return await _start(ctx, "barrier", args)


@command("success", "éxito", "logro")
async def success_command(ctx: Ctx, args: str) -> FlowResult:
    """Share a success, so it can be celebrated and spread."""
    return await _start(ctx, "success", args)


@action("open")
async def open_form(ctx: Ctx, which: str, value: str) -> FlowResult:
    if which in ("barrier", "success"):
        team = await ctx.loop.reporting_team(ctx.person.id)
        return FlowResult(form=report_form(which, value, await anonymity_hint(ctx, team)))
    if which == "kudos":
        return FlowResult(form=kudos_form())
    raise InvalidInput(_("I don't know that form."))


async def _start(ctx: Ctx, kind: str, args: str) -> FlowResult:
    team = await ctx.loop.reporting_team(ctx.person.id)  # fail early, politely, if no team
    if ctx.ev.kind == "command":  # a slash command or a button: the one-shot form
        return FlowResult(form=report_form(kind, args.strip(), await anonymity_hint(ctx, team)))
    return await start_steps(ctx, kind, args.strip())


@form("barrier")
async def submit_barrier(ctx: Ctx, values: dict[str, str], _context: dict[str, str]) -> FlowResult:
    return await _submit_form(ctx, "barrier", values)


@form("success")
async def submit_success(ctx: Ctx, values: dict[str, str], _context: dict[str, str]) -> FlowResult:
    return await _submit_form(ctx, "success", values)


def _flag(value: str | bool | None) -> bool:
    return str(value or "").strip().lower() in YES | {"on", "checked"}


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


async def _submit_form(ctx: Ctx, kind: str, values: dict[str, str]) -> FlowResult:
    if not str(values.get("summary") or "").strip():
        return FlowResult(
            errors={
                "summary": _("Please say what is getting in the way.")
                if kind == "barrier"
                else _("Please say what worked.")
            }
        )
    inp = ReportInput(
        kind=kind,
        summary=str(values.get("summary") or ""),
        details=str(values.get("details") or ""),
        affected=_list(values.get("affected")),
        subgroup=str(values.get("subgroup") or ""),
        driver=str(values.get("driver") or Driver.OTHER.value),
        stage=str(values.get("stage") or ""),
        tried=str(values.get("tried") or ""),
        suggestion=str(values.get("suggestion") or ""),
        urgency=str(values.get("urgency") or Urgency.NORMAL.value),
        anonymous=_flag(values.get("anonymous")),
        locus=str(values.get("locus") or ""),
        evidence=str(values.get("evidence") or ""),
    )
    try:
        item = await ctx.loop.report(ctx.person.id, inp, source=ctx.ev.platform)
    except limits.TooMany as e:  # the form stays open with what was written
        return FlowResult(errors={"summary": str(e)})
    row = await active_steps(ctx)  # "Use the form instead" ends the step-by-step conversation
    if row is not None and await _claim(ctx, row, SENT):
        await _ended(ctx, row, item.id)
    return FlowResult(replies=[await ctx.loop.thanks_message(item)])


# ---- step by step -------------------------------------------------------------------------

DRIVERS = list(Driver)
STAGES = list(Stage)
LOCI = list(Locus)

BARRIER_STEPS = [
    "summary",
    "details",
    "affected",
    "driver",
    "stage",
    "locus",
    "evidence",
    "tried",
    "suggestion",
    "urgency",
    "anonymous",
    "confirm",
]
SUCCESS_STEPS = ["summary", "details", "affected", "driver", "anonymous", "confirm"]


def _steps(kind: str) -> list[str]:
    return BARRIER_STEPS if kind == "barrier" else SUCCESS_STEPS


async def _question(ctx: Ctx, kind: str, step: str, answers: dict[str, Any]) -> Message:
    """The question for `step` (steps_question.j2, which an organisation can override), or the
    review with Send and Cancel once every step is answered."""
    barrier = kind == "barrier"
    if step != "confirm":
        options = {
            "driver": [_(DRIVER_LABELS[d]) for d in DRIVERS],
            "stage": [_(STAGE_LABELS[s]) for s in STAGES],
            "locus": [_(LOCUS_LABELS[c]) for c in LOCI],
        }.get(step, [])
        hint = await anonymity_hint(ctx) if step == "anonymous" else ""
        return Message(
            text=texts().render(
                "steps_question", step=step, barrier=barrier, options=options, hint=hint or ""
            )
        )
    inp = _input(kind, answers)
    return Message(
        text=texts().render(
            "steps_review",
            inp=inp,
            barrier=barrier,
            locus=_(LOCUS_LABELS[Locus(inp.locus)]) if inp.locus in LOCI else "",
        ),
        buttons=(
            Button(_("Send"), "steps:send", "", "primary"),
            Button(_("Cancel"), "steps:cancel", "", "danger"),
        ),
    )


def _input(kind: str, answers: dict[str, Any]) -> ReportInput:
    return ReportInput(
        kind=kind,
        summary=answers.get("summary", ""),
        details=answers.get("details", ""),
        affected=list(answers.get("affected", [])),
        subgroup=answers.get("subgroup", ""),
        driver=answers.get("driver", Driver.OTHER.value),
        stage=answers.get("stage", ""),
        tried=answers.get("tried", ""),
        suggestion=answers.get("suggestion", ""),
        urgency=answers.get("urgency", Urgency.NORMAL.value),
        anonymous=bool(answers.get("anonymous", False)),
        locus=answers.get("locus", ""),
        evidence=answers.get("evidence", ""),
    )


def _pick(options: list[Any], raw: str, labels: dict[Any, str]) -> str | None:
    """An option by its number, its value or its own name (in the reader's language too);
    a word that names exactly one option ("fidelity") picks it."""
    text = fold(raw).rstrip(".")
    if text.isdigit() and 1 <= int(text) <= len(options):
        return str(options[int(text) - 1].value)
    names = {
        o: {o.value, o.value.replace("_", " "), labels[o].lower(), _(labels[o]).lower()}
        for o in options
    }
    for o in options:
        if text in names[o]:
            return str(o.value)
    partial = [o for o in options if text and any(text in n for n in names[o])]
    return str(partial[0].value) if len(partial) == 1 else None


def _parse(step: str, raw: str, answers: dict[str, Any]) -> str | None:  # noqa: C901 - one case per step
    """Store the answer for `step`; return an error message if it cannot be used."""
    text = raw.strip()
    low = fold(text)
    if step in TEXT_STEPS and len(text) > MAX_TEXT:
        kind = answers.get("kind", "barrier")
        return texts().render(
            "field_too_long", field=step, kind=kind, length=len(text), limit=MAX_TEXT
        )
    if step == "summary":
        if not text:
            return _("Please describe it in a few words.")
        answers["summary"] = text
    elif step in ("details", "evidence", "tried", "suggestion"):
        answers[step] = "" if low in SKIP else text
    elif step == "locus":
        answers["locus"] = "" if low in SKIP else (_pick(LOCI, text, LOCUS_LABELS) or "?")
        if answers["locus"] == "?":
            return _("Please reply with a number from 1 to %(n)s, or 'skip'.", n=len(LOCI))
    elif step == "affected":
        if low in SKIP:
            answers["affected"] = []
            return None
        picked, groups, bad = _affected(text)
        if bad:
            return _(
                "I don't know '%(words)s'. Use students, families and/or staff, or 'skip'.",
                words=", ".join(bad),
            )
        answers["affected"] = picked
        answers["subgroup"] = ", ".join(groups)
    elif step == "driver":
        answers["driver"] = (
            Driver.OTHER.value if low in SKIP else (_pick(DRIVERS, text, DRIVER_LABELS) or "")
        )
        if not answers["driver"]:
            return _("Please reply with a number from 1 to %(n)s, or 'skip'.", n=len(DRIVERS))
    elif step == "stage":
        answers["stage"] = "" if low in SKIP else (_pick(STAGES, text, STAGE_LABELS) or "?")
        if answers["stage"] == "?":
            return _("Please reply with a number from 1 to %(n)s, or 'skip'.", n=len(STAGES))
    elif step == "urgency":
        value = URGENCY_WORDS.get(low, low) or "normal"
        if value not in [u.value for u in Urgency]:
            return _("Please answer low, normal or high.")
        answers["urgency"] = value
    elif step == "anonymous":
        if low in YES:
            answers["anonymous"] = True
        elif low in NO:
            answers["anonymous"] = False
        else:
            return _("Please answer yes or no.")
    return None


def _affected(text: str) -> tuple[list[str], list[str], list[str]]:
    """'students: English learners, staff' -> (['students', 'staff'], ['English learners'], []):
    a name after a colon is a group of the people before it until a known kind comes again."""
    valid = [a.value for a in Affected]
    picked: list[str] = []
    groups: list[str] = []
    bad: list[str] = []
    in_group = False
    for piece in (p.strip() for p in text.split(",")):
        head, colon, group = piece.partition(":")
        word = AFFECTED_WORDS.get(fold(head), fold(head))
        if word in valid:
            picked += [] if word in picked else [word]
            in_group = bool(colon)
            groups += [group.strip()] if group.strip() else []
        elif in_group and piece:
            groups.append(piece)
        elif piece:
            bad.append(piece)
    return picked, groups, bad


async def start_steps(ctx: Ctx, kind: str, first: str) -> FlowResult:
    answers: dict[str, Any] = {}
    step_index = 0
    intro = Message(
        text=_("Let's report a barrier — a few quick questions. Type 'cancel' at any time to stop.")
        if kind == "barrier"
        else _("Let's share a success — a few quick questions. Type 'cancel' at any time to stop."),
        buttons=(Button(_("Use the form instead"), f"open:{kind}", first),),
    )
    if first:
        err = _parse("summary", first, answers)
        if err is None:
            step_index = 1
    steps = _steps(kind)
    await _save(ctx, kind, steps[step_index], answers)
    return FlowResult(replies=[intro, await _question(ctx, kind, steps[step_index], answers)])


async def _save(ctx: Ctx, kind: str, step: str, answers: dict[str, Any]) -> None:
    key = (ctx.ev.platform, ctx.person.id)
    row = await ctx.s.get(ConversationState, key)
    data = {"kind": kind, "step": step, "answers": answers}
    if row is None:
        ctx.s.add(
            ConversationState(
                platform=key[0],
                person_id=key[1],
                flow=ACTIVE,
                data=data,
                updated_at=ctx.rt.clock.now(),
                version=0,
            )
        )
    else:
        row.flow = ACTIVE
        row.data = data
        row.updated_at = ctx.rt.clock.now()
        row.version = (row.version or 0) + 1


async def _state(ctx: Ctx) -> ConversationState | None:
    """The person's draft or ended-draft marker, as committed now (not as cached)."""
    key = (ctx.ev.platform, ctx.person.id)
    return await ctx.s.get(ConversationState, key, populate_existing=True)


async def active_steps(ctx: Ctx) -> ConversationState | None:
    row = await _state(ctx)
    return row if row is not None and row.flow == ACTIVE else None


async def _claim(ctx: Ctx, row: ConversationState, outcome: str) -> bool:
    """End the draft `row` for this request only; False if another request got it first."""
    done = await ctx.s.execute(
        update(ConversationState)
        .where(
            ConversationState.platform == row.platform,
            ConversationState.person_id == row.person_id,
            ConversationState.flow == row.flow,
            ConversationState.version == row.version,
        )
        .values(flow=outcome, version=row.version + 1, updated_at=ctx.rt.clock.now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(done, "rowcount", 0))


async def _ended(ctx: Ctx, row: ConversationState, item_id: int) -> None:
    """Remember which report the claimed draft became (the row is ours: we claimed it)."""
    await ctx.s.execute(
        update(ConversationState)
        .where(
            ConversationState.platform == row.platform,
            ConversationState.person_id == row.person_id,
        )
        .values(data={**row.data, "item": item_id})
        .execution_options(synchronize_session=False)
    )


async def late(ctx: Ctx, asked: str) -> FlowResult | None:
    """What became of the person's last draft, for a `send` or `cancel` that came too late
    (None when there is no recent ended draft: the word means what it means elsewhere)."""
    row = await _state(ctx)
    if row is None or row.flow not in (SENT, CANCELLED):
        return None
    if asked == "cancel" and row.flow == CANCELLED:
        return None  # cancelled twice: there is simply nothing to cancel
    if row.updated_at < ctx.rt.clock.now() - LATE:
        return None
    item = team = None
    if row.flow == SENT and row.data.get("item"):
        item = await ctx.s.get(Item, int(row.data["item"]))
        team = await ctx.loop.dir.team(item.origin_team_id) if item is not None else None
    text = texts().render("steps_late", outcome=row.flow, item=item, team=team, asked=asked)
    return FlowResult(replies=[Message(text=text)])


async def cancel_steps(ctx: Ctx) -> FlowResult:
    row = await active_steps(ctx) or await aside_steps(ctx)
    if row is not None and await _claim(ctx, row, CANCELLED):
        return FlowResult(replies=[Message(text=_("Cancelled. Nothing was sent."))])
    told = await late(ctx, "cancel")
    return told or FlowResult(replies=[Message(text=_("There is nothing to cancel."))])


async def continue_steps(ctx: Ctx, row: ConversationState, text: str) -> FlowResult:
    kind = row.data.get("kind", "barrier")
    step = row.data.get("step", "summary")
    answers = dict(row.data.get("answers", {}))
    steps = _steps(kind)
    if step == "confirm":
        if fold(text) in SEND:
            return await _send_steps(ctx, row, kind, answers)
        return FlowResult(
            replies=[Message(text=_("Reply 'send' to send it, or 'cancel' to stop."))]
        )
    err = _parse(step, text, answers)
    if err:
        return FlowResult(replies=[Message(text=err), await _question(ctx, kind, step, answers)])
    nxt = steps[steps.index(step) + 1] if step in steps else "confirm"
    await _save(ctx, kind, nxt, answers)
    return FlowResult(replies=[await _question(ctx, kind, nxt, answers)])


async def _send_steps(
    ctx: Ctx, row: ConversationState, kind: str, answers: dict[str, Any]
) -> FlowResult:
    if not await _claim(ctx, row, SENT):  # another request sent or cancelled it just now
        told = await late(ctx, "send")
        return told or FlowResult(replies=[Message(text=_("That report is no longer waiting."))])
    item = await ctx.loop.report(ctx.person.id, _input(kind, answers), source=ctx.ev.platform)
    await _ended(ctx, row, item.id)
    return FlowResult(replies=[await ctx.loop.thanks_message(item)])


@action("steps")
async def steps_button(ctx: Ctx, which: str, _value: str) -> FlowResult:
    if which == "cancel":
        return await cancel_steps(ctx)
    row = await active_steps(ctx)
    if row is None:
        told = await late(ctx, "send")
        return told or FlowResult(
            replies=[
                Message(text=_("There is no report in progress. Type 'barrier' to start one."))
            ]
        )
    if row.data.get("step") != "confirm":
        return FlowResult(replies=[Message(text=_("Please answer the question above first."))])
    return await _send_steps(
        ctx, row, row.data.get("kind", "barrier"), dict(row.data.get("answers", {}))
    )


# ---- a draft that waits: commands mid-report, set aside after DRAFT_TTL, resume ---------


def stale(ctx: Ctx, row: ConversationState) -> bool:
    """Whether the active draft went unanswered for longer than DRAFT_TTL."""
    return row.updated_at < ctx.rt.clock.now() - DRAFT_TTL


async def set_aside(ctx: Ctx, row: ConversationState) -> bool:
    """Stop the draft taking messages (it keeps every answer); False if it moved meanwhile."""
    return await _claim(ctx, row, ASIDE)


async def waiting(ctx: Ctx, row: ConversationState) -> Message:
    """What the person is told after a command run mid-report: where the draft waits."""
    kind = row.data.get("kind", "barrier")
    step = row.data.get("step", "summary")
    question = await _question(ctx, kind, step, dict(row.data.get("answers", {})))
    note = texts().render("steps_waiting", kind=kind)
    return Message(text=f"{note}\n{question.text}", buttons=question.buttons)


def set_aside_note(row: ConversationState, typed: str) -> Message:
    """Told when a draft was set aside: what it was, how to resume it, and what they typed."""
    answers = row.data.get("answers", {})
    text = texts().render(
        "steps_set_aside",
        kind=row.data.get("kind", "barrier"),
        summary=str(answers.get("summary", "")),
        hours=int(DRAFT_TTL.total_seconds() // 3600),
        typed=typed,
    )
    return Message(text=text)


@command("resume")
async def resume_command(ctx: Ctx, _args: str) -> FlowResult:
    """Pick up your unfinished report where you left it."""
    row = await _state(ctx)
    if row is None or row.flow not in (ACTIVE, ASIDE):
        return FlowResult(replies=[Message(text=texts().render("steps_nothing_to_resume"))])
    kind = row.data.get("kind", "barrier")
    step = row.data.get("step", "summary")
    answers = dict(row.data.get("answers", {}))
    await _save(ctx, kind, step, answers)  # active again, and waiting from now
    return FlowResult(replies=[await _question(ctx, kind, step, answers)])


async def aside_steps(ctx: Ctx) -> ConversationState | None:
    row = await _state(ctx)
    return row if row is not None and row.flow == ASIDE else None
