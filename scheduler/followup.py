"""Follow-up: some weeks after a resolution, ask whether the fix worked.

The reporter gets a direct message with the outcome buttons (worse / no change / better /
goal met). For an anonymous report the question goes to the origin team's channel instead,
never naming the reporter; the team's lead or liaison answers for the team. Answers are
recorded by the existing `feedback:*` action (`Loop.feedback`), which tells every team the
item passed through. `Item.follow_up_sent_at` makes each follow-up happen once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.content.views import items_where, load_names
from bot.db.models import Item, Team
from bot.directory import Directory
from bot.domain import Kind, State
from bot.engine import feedback_buttons, followup_key
from bot.messages import Message
from bot.texts import texts
from scheduler.config import follow_up_weeks
from scheduler.run import Run, Send


def _asked(item: Item, decided_by: Team, team: bool) -> Callable[[], Message]:
    """The question 'did the fix work?', built in its reader's language."""

    def build() -> Message:
        if team:
            body = texts().render("follow_up_team", item=item, decided_by=decided_by)
        else:
            body = texts().render("follow_up", item=item, team=decided_by)
        return Message(text=body, buttons=feedback_buttons(item.id))

    return build


async def produce_follow_up(run: Run) -> list[Send]:
    s, team, now = run.s, run.team, run.now
    cal = await Directory(s).calendar()
    if not cal.is_working_day(now.astimezone(ZoneInfo(team.timezone)).date()):
        return []  # no questions on weekends or holidays
    cutoff = now - timedelta(weeks=follow_up_weeks(team, run.org))
    items = await items_where(
        s,
        Item.origin_team_id == team.id,
        Item.kind == Kind.BARRIER.value,
        Item.state == State.RESOLVED.value,
        Item.outcome.is_(None),
        Item.follow_up_sent_at.is_(None),
        Item.closed_at <= cutoff,
    )
    names = await load_names(s, [i.closed_by_team_id for i in items])
    sends = []
    for item in items:
        item.follow_up_sent_at = now
        decided_by = names.teams.get(item.closed_by_team_id or "") or team
        if item.anonymous:
            sends.append(
                Send(
                    "team",
                    team.id,
                    _asked(item, decided_by, True),
                    tag=f"item{item.id}",
                    update_key=followup_key(item),
                )
            )
        else:
            sends.append(
                Send(
                    "person",
                    item.reporter_id,
                    _asked(item, decided_by, False),
                    tag=f"item{item.id}",
                    update_key=followup_key(item),
                )
            )
    return sends
