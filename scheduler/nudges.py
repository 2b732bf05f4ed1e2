"""Response-time nudges and escalation timers, swept once a working day per holding team.

For each open item a team holds (waiting on the team, not on the reporter):

- **before it is due**: one reminder to the team (`Hop.reminded_at`) once no more than
  `remind_before_days` working days are left;
- **when it is overdue**: one notice to the team (ledger key `overdue:<hop id>`);
- **overdue by the team's agreed time** (`flag_after_days` working days past due): one flag to
  the linked team directly above (`Hop.overdue_flagged_at`, plus an audit event), never to a
  team further up, so no level is skipped. The top team's flag goes to its own lead(s).

The clock pauses with the org calendar: nothing is sent on weekends (when paused) or holidays,
and "working days" skip them, so an item due on Friday is one working day overdue on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.authority import Act, Authority
from bot.content.common import render
from bot.content.views import ItemView, items_where, names_for, team_hops, view
from bot.dates import shown
from bot.db.models import AgendaItem, AuditEvent, Item, ScheduledSend, Team
from bot.directory import Directory
from bot.domain import State
from bot.messages import Message
from bot.texts import texts
from scheduler.config import nudge_settings
from scheduler.run import Run, Send

# Waiting on the reporter (needs_info) is not the team's delay: no reminders or flags then.
NUDGED_STATES = [State.NEW.value, State.ACKNOWLEDGED.value, State.ESCALATED.value]


@dataclass
class NudgeLine:
    item: ItemView
    days: int  # working days left (reminders) or past due (overdue, flagged)


async def produce_nudges(run: Run) -> list[Send]:
    s, team, now = run.s, run.team, run.now
    d = Directory(s)
    cal = await d.calendar()
    tz = team.timezone
    if not cal.is_working_day(now.astimezone(ZoneInfo(tz)).date()):
        return []  # the clock is paused today: no nudges
    remind_before, flag_after = nudge_settings(team, run.org)
    reminders = await _action_reminders(run, remind_before)
    held = await items_where(
        s,
        Item.holding_team_id == team.id,
        Item.state.in_(NUDGED_STATES),
        Item.due_at.is_not(None),
    )
    hops = await team_hops(s, team.id, [i.id for i in held])
    names = await names_for(s, held, team.parent_id or "")
    keys = [f"overdue:{h.id}" for h in hops.values()]
    noticed = set(
        (await s.scalars(select(ScheduledSend.key).where(ScheduledSend.key.in_(keys)))).all()
    )

    due_soon: list[NudgeLine] = []
    overdue: list[NudgeLine] = []
    flagged: list[NudgeLine] = []
    for item in held:
        hop = hops.get(item.id)
        if hop is None or hop.left_at is not None or hop.due_at is None:
            continue
        v = view(item, names, now)
        if now <= hop.due_at:
            left = cal.working_days_between(now, hop.due_at, tz)
            if left <= remind_before and hop.reminded_at is None:
                hop.reminded_at = now
                due_soon.append(NudgeLine(v, left))
            continue
        late = cal.working_days_between(hop.due_at, now, tz)
        key = f"overdue:{hop.id}"
        if key not in noticed:
            s.add(
                ScheduledSend(
                    key=key,
                    kind="overdue",
                    team_id=team.id,
                    scheduled_for=hop.due_at,
                    sent_at=now,
                    messages=1,
                )
            )
            overdue.append(NudgeLine(v, late))
        if late >= flag_after and hop.overdue_flagged_at is None:
            hop.overdue_flagged_at = now
            flagged.append(NudgeLine(v, late))
    if not (due_soon or overdue or flagged):
        return reminders

    parent = names.teams.get(team.parent_id or "")
    if parent is not None and not parent.active:
        parent = None
    context = dict(team=team, tz=tz, parent=parent, flag_after=flag_after)
    sends = [
        Send(
            "team",
            team.id,
            lambda: render("nudge", due_soon=due_soon, overdue=overdue, flagged=flagged, **context),
        )
    ]
    if flagged:
        sends += await _flag(run, flagged, parent, context)
    return sends + reminders


async def _action_reminders(run: Run, remind_before: int) -> list[Send]:
    """Each open action item's owner, once, when no more than `remind_before` working days
    are left before its due date (or it is already past)."""
    s, team, now = run.s, run.team, run.now
    cal = await Directory(s).calendar()
    tz = ZoneInfo(team.timezone)
    rows = (
        await s.scalars(
            select(AgendaItem).where(
                AgendaItem.team_id == team.id,
                AgendaItem.done_at.is_(None),
                AgendaItem.owner_id.is_not(None),
                AgendaItem.due_on.is_not(None),
                AgendaItem.reminded_at.is_(None),
            )
        )
    ).all()
    sends = []
    for entry in rows:
        assert entry.due_on is not None and entry.owner_id is not None
        due = datetime.combine(entry.due_on, time(17), tz)
        if now <= due and cal.working_days_between(now, due, team.timezone) > remind_before:
            continue
        entry.reminded_at = now

        def reminder(entry: AgendaItem = entry) -> Message:  # in the owner's language
            body = texts().render(
                "agenda_words", which="reminder", entry=entry, team=team, due=shown(entry.due_on)
            )
            return Message(text=body)

        sends.append(Send("person", entry.owner_id, reminder, tag=f"A{entry.id}"))
    return sends


async def _flag(
    run: Run, flagged: list[NudgeLine], parent: Team | None, context: dict[str, object]
) -> list[Send]:
    """Flag to the team directly above (its channel), or the top team's own lead(s)."""
    s, team = run.s, run.team
    leads = await Authority(Directory(s)).audience(team, Act.TAKE_FLAGS)
    lead = ", ".join(p.name for p in leads)

    def msg() -> Message:
        return render("nudge_flag", flagged=flagged, lead=lead, **context)

    note = f"overdue; flagged to {parent.name}" if parent else "overdue; flagged to the team lead"
    for line in flagged:
        s.add(
            AuditEvent(
                item_id=line.item.id,
                at=run.now,
                actor_id=None,
                action="overdue_flagged",
                from_state=line.item.state,
                to_state=line.item.state,
                team_id=team.id,
                note=note,
            )
        )
    if parent is not None:
        return [Send("team", parent.id, msg)]
    return [Send("person", p.id, msg) for p in leads]
