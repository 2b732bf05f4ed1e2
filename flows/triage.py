"""Decisions on an item (leads and liaisons), the reporter's answers and follow-up, the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.authority import Act
from bot.cards import STATE_LABELS
from bot.claims import Seen, seen_context
from bot.db.models import Hop, Item, Team
from bot.decisions import NEEDS_FORM, decision_kind, decision_of
from bot.domain import NOTE_REQUIRED, OPEN_STATES, Decision, State
from bot.errors import NotAllowed
from bot.i18n import day as _day
from bot.messages import Message
from bot.texts import texts
from flows.events import FlowResult
from flows.forms import answer_form, decide_form
from flows.registry import Ctx, action, command, form

DONE_TEXT = {
    Decision.ACKNOWLEDGE: "acknowledged",
    Decision.ASSIGN: "assigned",
    Decision.RESOLVE: "resolved; the teams below and the reporter are being told",
    Decision.ESCALATE: "escalated to the team above",
    Decision.ASK_INFO: "waiting on the reporter; your question was sent",
    Decision.DECLINE: "declined; the teams below and the reporter are being told why",
    Decision.MERGE: "merged",
}


@action("decide")
async def decide_button(ctx: Ctx, which: str, value: str) -> FlowResult:
    decision = decision_kind(which, "That button is out of date; please use the latest message.")
    item = await ctx.loop.item(value)
    await ctx.loop.require_open(item)
    await ctx.loop.authority.require(ctx.person.id, Act.DECIDE, item)
    if decision in NEEDS_FORM:
        title = f"{decision.value.replace('_', ' ').capitalize()} #{item.id}"
        return FlowResult(form=decide_form(item.id, decision, title, seen_context(item)))
    await ctx.loop.decide(ctx.person.id, item.id, decision_of(decision))
    return FlowResult(replies=[Message(text=f"#{item.id} {DONE_TEXT[decision]}.")])


@form("decide")
async def decide_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    decision = decision_kind(
        context.get("decision", ""), "That form is out of date; please use the latest message."
    )
    note = str(values.get("note") or "").strip()
    if decision in NOTE_REQUIRED and not note:
        return FlowResult(errors={"note": f"Please add a note: {NOTE_REQUIRED[decision].lower()}."})
    chosen = decision_of(
        decision, note, owner=values.get("owner"), merge_into=values.get("merge_into")
    )
    item = await ctx.loop.decide(ctx.person.id, context.get("item", ""), chosen, Seen.of(context))
    return FlowResult(replies=[Message(text=f"#{item.id} {DONE_TEXT[decision]}.")])


@action("answer")
async def answer_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    item = await ctx.loop.item(value)
    await ctx.loop.authority.require(ctx.person.id, Act.ANSWER, item)
    return FlowResult(form=answer_form(item.id))


@form("answer")
async def answer_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    answer = str(values.get("answer") or "").strip()
    if not answer:
        return FlowResult(errors={"answer": "Please write your answer."})
    item = await ctx.loop.provide_info(ctx.person.id, context.get("item", ""), answer)
    return FlowResult(
        replies=[Message(text=f"Thanks — your answer on #{item.id} was passed to the team.")]
    )


@action("feedback")
async def feedback_button(ctx: Ctx, outcome: str, value: str) -> FlowResult:
    item = await ctx.loop.feedback(ctx.person.id, value, outcome)
    said = texts().render("feedback_thanks", item=item, outcome=item.outcome)
    return FlowResult(replies=[Message(text=said)])


@command("status", "queue")
async def status_command(ctx: Ctx, _args: str) -> FlowResult:
    """Your team's queue: new, waiting on us, waiting on the team above, overdue (leads)."""
    teams = await ctx.loop.authority.teams_where(ctx.person.id, Act.LEAD)
    if not teams:
        raise NotAllowed(
            "The queue is for team leads and liaisons. Type 'mine' to see your own reports."
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
    return {
        "new": [i for i in holding if i.state in (State.NEW, State.ESCALATED)],
        "ours": [i for i in holding if i.state in (State.ACKNOWLEDGED, State.NEEDS_INFO)],
        "above": list(above),
        "overdue": [i for i in holding if i.due_at is not None and i.due_at < now],
    }


async def queue_message(ctx: Ctx, team: Team, now: datetime) -> Message:
    q = await team_queue(ctx, team, now)

    def line(i: Item) -> str:
        due = f" · due {_day(i.due_at, team.timezone)}" if i.due_at else ""
        return f"#{i.id} {i.summary[:70]}{due}"

    labels = {
        "new": "New, waiting for our decision",
        "ours": "Waiting on us",
        "above": "Waiting on the team above",
        "overdue": "Overdue",
    }
    fields = tuple((labels[k], "\n".join(line(i) for i in v) or "none") for k, v in q.items())
    return Message(
        title=f"{team.name}: queue",
        text=texts().render("queue_count", count=sum(len(v) for v in q.values())),
        fields=fields,
    )


@command("mine", "my")
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
            text="You have not reported anything yet. Type 'barrier' or 'success' to start."
        )
    teams = await ctx.loop.dir.all_teams()
    rows = []
    for i in items:
        where = teams[i.holding_team_id].name if i.holding_team_id in teams else i.holding_team_id
        label = STATE_LABELS.get(State(i.state), i.state)
        extra = f" — {i.response[:100]}" if i.response else ""
        rows.append((f"#{i.id} {i.summary[:60]}", f"{label} · with {where}{extra}"))
    return Message(title="Your reports", text=f"{len(items)} most recent.", fields=tuple(rows))
