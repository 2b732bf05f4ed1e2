"""The weekly digest for a team's lead and liaisons."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.common import WEEK, loop_figures, percent, render, selfcheck_summary
from bot.content.views import (
    OPEN,
    Section,
    capped,
    items_where,
    names_for,
    section,
    team_hops,
    team_kudos,
    through,
    views,
)
from bot.db.models import Hop, Item, Team
from bot.domain import State
from bot.messages import Message
from bot.metrics import SharedStats, breakdown
from bot.similar.views import lines_below, respond_buttons


async def build_digest(
    session: AsyncSession, team: Team, now: datetime, shared: SharedStats | None = None
) -> Message:
    """The week for one team: what came in, what was decided, what waits, how the loop does."""
    s = session
    since = now - WEEK
    recent = await items_where(
        s,
        through(team.id),
        (Item.created_at >= since)
        | (Item.updated_at >= since)
        | (Item.closed_at >= since)
        | (Item.outcome_at >= since),
    )
    held = (Item.holding_team_id == team.id, Item.state.in_(OPEN))
    overdue_rows, overdue_n = await capped(s, *held, Item.due_at.is_not(None), Item.due_at < now)
    below_rows, below_n = await capped(s, *held, Item.origin_team_id != team.id)
    hops = await team_hops(s, team.id, [i.id for i in recent])
    names = await names_for(s, recent + overdue_rows + below_rows)

    def hop(i: Item) -> Hop | None:
        return hops.get(i.id)

    new = [i for i in recent if (h := hop(i)) is not None and h.arrived_at >= since]
    escalated = [
        i for i in recent if (h := hop(i)) is not None and h.left_at and h.left_at >= since
    ]
    closed = [i for i in recent if i.closed_at is not None and i.closed_at >= since]
    resolved = [i for i in closed if i.state == State.RESOLVED]
    declined = [i for i in closed if i.state == State.DECLINED]
    outcomes = [i for i in recent if i.outcome_at is not None and i.outcome_at >= since]
    stats = await loop_figures(s, team, now, shared)
    counts = await breakdown(s, team_id=team.id, since=since)
    kudos = await team_kudos(s, team.id, since)
    below = await s.scalar(
        select(func.count()).select_from(Team).where(Team.parent_id == team.id, Team.active)
    )

    clusters = await lines_below(s, team, now) if below else []
    message = render(
        "digest",
        team=team,
        tz=team.timezone,
        now=now,
        since=since,
        new=section(views(new, names, now)),
        resolved=section(views(resolved, names, now)),
        declined=section(views(declined, names, now)),
        escalated=section(views(escalated, names, now)),
        overdue=Section(views(overdue_rows, names, now), overdue_n),
        from_below=Section(views(below_rows, names, now), below_n),
        outcomes=section(views(outcomes, names, now)),
        kudos=section(kudos),
        drivers=counts["driver"].most_common(),
        affected=counts["affected"].most_common(),
        stats=stats,
        closed_share=percent(stats.closed_share),
        has_below=bool(below),
        clusters=clusters,
        selfcheck=await selfcheck_summary(s, team),
    )
    return replace(message, buttons=respond_buttons(clusters))
