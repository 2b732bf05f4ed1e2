"""Decisions on an item (leads and liaisons), the reporter's answers and follow-up, the queue."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from bot.authority import Act
from bot.cards import state_label
from bot.claims import Seen, seen_context
from bot.db.models import Hop, Item, Team
from bot.decisions import NEEDS_FORM, decision_kind, decision_of
from bot.domain import NOTE_REQUIRED, OPEN_STATES, Decision, Kind, State
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import N_, _, ngettext
from bot.i18n import day as _day
from bot.messages import Message, Option
from bot.texts import texts
from flows.events import FlowResult
from flows.forms import answer_form, decide_form
from flows.registry import Ctx, action, command, form

DONE_TEXT = {
    Decision.ACKNOWLEDGE: N_("#%(id)s acknowledged."),
    Decision.ASSIGN: N_("#%(id)s assigned."),
    Decision.RESOLVE: N_("#%(id)s resolved; the teams below and the reporter are being told."),
    Decision.ESCALATE: N_("#%(id)s escalated to the team above."),
    Decision.ASK_INFO: N_("#%(id)s waiting on the reporter; your question was sent."),
    Decision.DECLINE: N_("#%(id)s declined; the teams below and the reporter are being told why."),
    Decision.MERGE: N_("#%(id)s merged."),
}
FORM_TITLES = {
    Decision.ACKNOWLEDGE: N_("Acknowledge #%(id)s"),
    Decision.ASSIGN: N_("Assign #%(id)s"),
    Decision.RESOLVE: N_("Resolve #%(id)s"),
    Decision.ESCALATE: N_("Escalate #%(id)s"),
    Decision.ASK_INFO: N_("Ask info #%(id)s"),
    Decision.DECLINE: N_("Decline #%(id)s"),
    Decision.MERGE: N_("Merge #%(id)s"),
}


def _done(decision: Decision, item_id: int) -> str:
    return _(DONE_TEXT[decision], id=item_id)


@action("decide")
async def decide_button(ctx: Ctx, which: str, value: str) -> FlowResult:
    decision = decision_kind(which, _("That button is out of date; please use the latest message."))
    item = await ctx.loop.item(value)
    await ctx.loop.require_open(item)
    await ctx.loop.authority.require(ctx.person.id, Act.DECIDE, item)
    if decision in NEEDS_FORM:
        title = _(FORM_TITLES[decision], id=item.id)
        label = ""
        if item.kind == Kind.SUCCESS and decision in (Decision.RESOLVE, Decision.ESCALATE):
            t = texts()
            title = t.render("success_words", which=f"title_{decision.value}", id=item.id)
            label = t.render("success_words", which=f"note_{decision.value}")
        hint = texts().render("decide_prompt", item=item, decision=decision.value)
        options = await merge_options(ctx, item) if decision == Decision.MERGE else ()
        form = decide_form(
            item.id,
            decision,
            title,
            seen_context(item),
            note_label=label,
            hint=hint,
            merge_options=options,
        )
        return FlowResult(form=form)
    await ctx.loop.decide(ctx.person.id, item.id, decision_of(decision))
    return FlowResult(replies=[Message(text=_done(decision, item.id))])


async def merge_options(ctx: Ctx, item: Item) -> tuple[Option, ...]:
    """What `item` can be merged into: the same kind's other open items its team holds."""
    others = (
        await ctx.s.scalars(
            select(Item)
            .where(
                Item.holding_team_id == item.holding_team_id,
                Item.id != item.id,
                Item.kind == item.kind,
                Item.state.in_([s.value for s in OPEN_STATES]),
            )
            .order_by(Item.id.desc())
            .limit(100)
        )
    ).all()
    return tuple(Option(str(o.id), f"#{o.id} {o.summary[:60]}") for o in others)


_TARGET = re.compile(r"^#?(\d+)\s+(?:into|to|in)\s+(.+)$", re.IGNORECASE)


@command("assign", "asignar")
async def assign_command(ctx: Ctx, args: str) -> FlowResult:
    """Give an item an owner: assign #12 to @dev"""
    return await _by_command(ctx, Decision.ASSIGN, args)


@command("merge", "fusionar")
async def merge_command(ctx: Ctx, args: str) -> FlowResult:
    """Merge an item into another of your team's: merge #14 into #12"""
    return await _by_command(ctx, Decision.MERGE, args)


async def _by_command(ctx: Ctx, decision: Decision, args: str) -> FlowResult:
    m = _TARGET.match(args.strip())
    if m is None:
        return FlowResult(
            replies=[Message(text=texts().render("merge_assign_usage", which=decision.value))]
        )
    iid, target = m.group(1), m.group(2).strip()
    chosen = (
        decision_of(decision, "", owner=target.lstrip("@"))
        if decision == Decision.ASSIGN
        else decision_of(decision, "", merge_into=target.lstrip("#"))
    )
    item = await ctx.loop.decide(ctx.person.id, iid, chosen)
    owner = await ctx.loop.dir.person(item.owner_id) if item.owner_id else None
    shown = owner.name if owner is not None and decision == Decision.ASSIGN else target
    done = texts().render("merge_assign_done", which=decision.value, item=item, target=shown)
    return FlowResult(replies=[Message(text=done)])


@form("decide")
async def decide_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    decision = decision_kind(
        context.get("decision", ""), _("That form is out of date; please use the latest message.")
    )
    note = str(values.get("note") or "").strip()
    if decision in NOTE_REQUIRED and not note:
        what = _(NOTE_REQUIRED[decision]).lower()
        return FlowResult(errors={"note": _("Please add a note: %(what)s.", what=what)})
    chosen = decision_of(
        decision, note, owner=values.get("owner"), merge_into=values.get("merge_into")
    )
    item = await ctx.loop.decide(ctx.person.id, context.get("item", ""), chosen, Seen.of(context))
    return FlowResult(replies=[Message(text=_done(decision, item.id))])


@action("answer")
async def answer_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    item = await ctx.loop.item(value)
    await ctx.loop.authority.require(ctx.person.id, Act.ANSWER, item)
    return FlowResult(form=answer_form(item.id))


@form("answer")
async def answer_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    answer = str(values.get("answer") or "").strip()
    if not answer:
        return FlowResult(errors={"answer": _("Please write your answer.")})
    item = await ctx.loop.provide_info(ctx.person.id, context.get("item", ""), answer)
    return FlowResult(
        replies=[
            Message(text=_("Thanks — your answer on #%(id)s was passed to the team.", id=item.id))
        ]
    )


@action("feedback")
async def feedback_button(ctx: Ctx, outcome: str, value: str) -> FlowResult:
    item = await ctx.loop.feedback(ctx.person.id, value, outcome)
    said = texts().render("feedback_thanks", item=item, outcome=item.outcome)
    if item.state != State.RESOLVED:  # "worse" or "no change": open again with its team
        said += "\n" + texts().render("reporter_words", which="reopened", item=item)
    return FlowResult(replies=[Message(text=said)])


@command("status", "queue", "estado", "pendientes")
async def status_command(ctx: Ctx, _args: str) -> FlowResult:
    """Your team's queue: new, waiting on us, waiting on the team above, overdue (leads)."""
    teams = await ctx.loop.authority.teams_where(ctx.person.id, Act.LEAD)
    if not teams:
        raise NotAllowed(
            _("The queue is for team leads and liaisons. Type 'mine' to see your own reports.")
        )
    now = ctx.rt.clock.now()
    return FlowResult(replies=[await queue_message(ctx, team, now) for team in teams])


async def team_queue(ctx: Ctx, team: Team, now: datetime) -> dict[str, list[Item]]:
    holding = (
        await ctx.s.scalars(
            select(Item)
            .where(Item.holding_team_id == team.id, Item.state.in_([s.value for s in OPEN_STATES]))
            .order_by(Item.id)
        )
    ).all()
    above = (
        await ctx.s.scalars(
            select(Item)
            .join(Hop, Hop.item_id == Item.id)
            .where(
                Hop.team_id == team.id,
                Hop.left_at.is_not(None),
                Item.state.in_([s.value for s in OPEN_STATES]),
            )
            .order_by(Item.id)
        )
    ).all()
    out = {
        "new": [i for i in holding if i.state in (State.NEW, State.ESCALATED)],
        "ours": [i for i in holding if i.state in (State.ACKNOWLEDGED, State.NEEDS_INFO)],
        "above": list(above),
        "overdue": [i for i in holding if i.due_at is not None and i.due_at < now],
    }
    below = await _teams_below(ctx, team)
    if below:
        out["below"] = await stuck_below(ctx, below, now)
    return out


async def _teams_below(ctx: Ctx, team: Team) -> list[str]:
    """Every active team linked below `team`, at any depth."""
    children: dict[str, list[str]] = {}
    for t in (await ctx.loop.dir.all_teams()).values():
        if t.parent_id and t.active:
            children.setdefault(t.parent_id, []).append(t.id)
    found, todo = [], list(children.get(team.id, []))
    while todo:
        tid = todo.pop()
        if tid not in found:
            found.append(tid)
            todo += children.get(tid, [])
    return found


async def stuck_below(ctx: Ctx, team_ids: list[str], now: datetime) -> list[Item]:
    """What is stuck in the teams below: open, waiting on that team (not on its reporter), and
    unanswered past the team's agreed response time (its due date), oldest due first."""
    waiting = [State.NEW.value, State.ACKNOWLEDGED.value, State.ESCALATED.value]
    return list(
        (
            await ctx.s.scalars(
                select(Item)
                .where(
                    Item.holding_team_id.in_(team_ids),
                    Item.state.in_(waiting),
                    Item.due_at.is_not(None),
                    Item.due_at < now,
                )
                .order_by(Item.due_at, Item.id)
                .limit(20)
            )
        ).all()
    )


async def queue_message(ctx: Ctx, team: Team, now: datetime) -> Message:
    q = await team_queue(ctx, team, now)
    teams = await ctx.loop.dir.all_teams()

    def line(i: Item) -> str:
        due = " · " + _("due %(day)s", day=_day(i.due_at, team.timezone)) if i.due_at else ""
        held = teams.get(i.holding_team_id)
        at = " · " + _("with %(team)s", team=held.name) if held and held.id != team.id else ""
        return f"#{i.id} {i.summary[:70]}{due}{at}"

    labels = {
        "new": _("New, waiting for our decision"),
        "ours": _("Waiting on us"),
        "above": _("Waiting on the team above"),
        "overdue": _("Overdue"),
        "below": _("Stuck in the teams below (past their response time)"),
    }
    fields = tuple((labels[k], "\n".join(line(i) for i in v) or _("none")) for k, v in q.items())
    n = sum(len(v) for k, v in q.items() if k != "below")
    return Message(
        title=_("%(team)s: queue", team=team.name),
        text=texts().render("queue_count", count=n),
        fields=fields,
    )


@command("mine", "my", "míos", "mis")
async def mine_command(ctx: Ctx, _args: str) -> FlowResult:
    """Your reports and where each stands."""
    return FlowResult(replies=[await mine_message(ctx)])


@action("mine")
async def mine_button(ctx: Ctx, _which: str, _value: str) -> FlowResult:
    return FlowResult(replies=[await mine_message(ctx)])


async def mine_message(ctx: Ctx) -> Message:
    items = (
        await ctx.s.scalars(
            select(Item).where(Item.reporter_id == ctx.person.id).order_by(Item.id.desc()).limit(25)
        )
    ).all()
    if not items:
        return Message(
            text=_("You have not reported anything yet. Type 'barrier' or 'success' to start.")
        )
    teams = await ctx.loop.dir.all_teams()
    rows = []
    for i in items:
        where = teams[i.holding_team_id].name if i.holding_team_id in teams else i.holding_team_id
        extra = f" — {i.response[:100]}" if i.response else ""
        status = _("%(state)s · with %(team)s", state=state_label(i.state), team=where)
        rows.append((f"#{i.id} {i.summary[:60]}", status + extra))
    return Message(
        title=_("Your reports"),
        text=ngettext("%(num)d most recent.", "%(num)d most recent.", len(items)),
        fields=tuple(rows),
    )


@action("revisit")
async def revisit_button(ctx: Ctx, which: str, value: str) -> FlowResult:
    """From the agenda's "Decisions to revisit": keep a past decision, or re-open the item."""
    if which not in ("keep", "reopen"):
        raise InvalidInput(_("That button is out of date; please use the latest message."))
    item = await ctx.loop.revisit(ctx.person.id, value, reopen=which == "reopen")
    team = await ctx.loop.dir.team(item.holding_team_id)
    said = texts().render(
        "revisit_words", which="reopened" if which == "reopen" else "kept", item=item, team=team
    )
    return FlowResult(replies=[Message(text=said)])
