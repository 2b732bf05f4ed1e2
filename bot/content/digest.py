"""The weekly digest for a team's lead and liaisons."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import selfcheck
from bot.content.batch import Sections, SharedSections
from bot.content.common import WEEK, loop_figures, percent, render, selfcheck_text
from bot.content.views import (
    OPEN,
    KudosView,
    Names,
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
from bot.selfcheck import Results
from bot.similar.views import ClusterLine, lines_below, respond_buttons


async def build_digest(
    session: AsyncSession,
    team: Team,
    now: datetime,
    shared: SharedStats | None = None,
    batch: SharedSections | None = None,
) -> Message:
    """The week for one team: what came in, what was decided, what waits, how the loop does.
    With `batch`, every team's sections come from grouped statements shared by the jobs due
    in the same minute (bot/content/batch.py); the message is the same."""
    since = now - WEEK
    if batch is not None:
        part = _from_batch(await batch.get(session, now, since, since), team)
    else:
        part = await _alone(session, team, now, since)
    stats = await loop_figures(session, team, now, shared)
    recent, hops, names = part.recent, part.hops, part.names

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
    overdue_rows, overdue_n = part.overdue
    below_rows, below_n = part.from_below
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
        kudos=section(part.kudos),
        drivers=part.drivers.most_common(),
        affected=part.affected.most_common(),
        stats=stats,
        closed_share=percent(stats.closed_share),
        has_below=bool(part.below),
        clusters=part.clusters,
        selfcheck=selfcheck_text(part.selfcheck),
    )
    return replace(message, buttons=respond_buttons(part.clusters))


@dataclass
class _Part:
    """One team's sections, read alone or taken from a batch."""

    recent: list[Item]
    hops: dict[int, Hop]
    overdue: tuple[list[Item], int]
    from_below: tuple[list[Item], int]
    names: Names
    drivers: Counter[str]
    affected: Counter[str]
    kudos: list[KudosView]
    below: int
    clusters: list[ClusterLine]
    selfcheck: list[Results]


async def _alone(s: AsyncSession, team: Team, now: datetime, since: datetime) -> _Part:
    recent = await items_where(
        s,
        through(team.id),
        (Item.created_at >= since)
        | (Item.updated_at >= since)
        | (Item.closed_at >= since)
        | (Item.outcome_at >= since),
    )
    held = (Item.holding_team_id == team.id, Item.state.in_(OPEN))
    overdue = await capped(s, *held, Item.due_at.is_not(None), Item.due_at < now)
    from_below = await capped(s, *held, Item.origin_team_id != team.id)
    hops = await team_hops(s, team.id, [i.id for i in recent])
    names = await names_for(s, recent + overdue[0] + from_below[0])
    counts = await breakdown(s, team_id=team.id, since=since)
    kudos = await team_kudos(s, team.id, since)
    below = await s.scalar(
        select(func.count()).select_from(Team).where(Team.parent_id == team.id, Team.active)
    )
    clusters = await lines_below(s, team, now) if below else []
    checks = [await selfcheck.results(s, team.id, kind) for kind in selfcheck.QUESTIONS]
    return _Part(
        recent, hops, overdue, from_below, names, counts["driver"], counts["affected"], kudos,
        int(below or 0), clusters, checks,
    )  # fmt: skip


def _from_batch(b: Sections, team: Team) -> _Part:
    pairs = b.recent.get(team.id, [])
    below = b.children(team.id)
    return _Part(
        recent=[i for i, _h in pairs],
        hops={i.id: h for i, h in pairs},
        overdue=b.capped(b.overdue, team.id),
        from_below=b.capped(b.from_below, team.id),
        names=b.names(),
        drivers=b.drivers.get(team.id, Counter()),
        affected=b.affected.get(team.id, Counter()),
        kudos=b.team_kudos(team.id, b.week),
        below=below,
        clusters=b.clusters.get(team.id, []) if below else [],
        selfcheck=[b.selfcheck_of(team.id, kind) for kind in selfcheck.QUESTIONS],
    )
