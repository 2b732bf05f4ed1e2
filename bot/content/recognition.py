"""Recognition and progress: the week's roundup and where the program stands."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.common import (
    MILESTONES,
    WEEK,
    measures_of,
    percent,
    render,
    selfcheck_summary,
    stage_of,
)
from bot.content.views import (
    count_before,
    items_where,
    names_for,
    resolved_through,
    section,
    team_kudos,
    through,
    views,
)
from bot.db.models import Item, Team
from bot.domain import Kind
from bot.messages import Message
from bot.metrics import team_stats


async def build_roundup(
    session: AsyncSession, team: Team, now: datetime, since: datetime | None = None
) -> Message:
    """The week's recognition: kudos, barriers removed and who raised them, successes."""
    s = session
    since = since or now - WEEK
    removed = [
        i for i in await resolved_through(s, team.id) if i.closed_at and i.closed_at >= since
    ]
    successes = await items_where(
        s, through(team.id), Item.kind == Kind.SUCCESS.value, Item.created_at >= since
    )
    names = await names_for(s, removed + successes)
    return render(
        "roundup",
        team=team,
        tz=team.timezone,
        now=now,
        since=since,
        kudos=section(await team_kudos(s, team.id, since)),
        removed=section(views(removed, names, now)),
        successes=section(views(successes, names, now)),
    )


@dataclass
class Milestone:
    count: int
    what: str  # "barriers removed", "successes shared"


def crossed(before: int, after: int, what: str) -> list[Milestone]:
    return [Milestone(n, what) for n in MILESTONES if before < n <= after]


async def build_progress(
    session: AsyncSession, team: Team, now: datetime, since: datetime | None = None
) -> Message:
    """Where the program stands (stage, tracked figures) and what the loop has achieved."""
    s = session
    since = since or now - timedelta(days=30)
    removed = await resolved_through(s, team.id)
    successes = await items_where(s, through(team.id), Item.kind == Kind.SUCCESS.value)
    stats = (await team_stats(s, now, team_ids=[team.id]))[team.id]
    outcomes = Counter(i.outcome for i in removed if i.outcome)
    succ_before = sum(1 for i in successes if i.created_at < since)
    milestones = crossed(count_before(removed, since), len(removed), "barriers removed")
    milestones += crossed(succ_before, len(successes), "successes shared")
    return render(
        "progress",
        team=team,
        tz=team.timezone,
        now=now,
        since=since,
        stage=stage_of(team),
        measures=measures_of(team),
        removed_total=len(removed),
        removed_since=len(removed) - count_before(removed, since),
        successes_total=len(successes),
        successes_since=len(successes) - succ_before,
        stats=stats,
        closed_share=percent(stats.closed_share),
        outcomes=outcomes,
        milestones=milestones,
        selfcheck=await selfcheck_summary(s, team),
    )
