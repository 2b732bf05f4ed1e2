"""How the loop is doing, measured: per-team queues, time to response, loops closed.

Each function issues a fixed number of SQL statements whatever the number of items, so the
digest, the agenda and the dashboard stay fast on large organisations.

Definitions (written down so digests and the dashboard agree):
- *time to response* at a team: from the item's arrival at that team (a hop) to that team's
  decision on it — escalating it onwards, or resolving/declining/merging it there; with a
  window (`since`), over the items that arrived at the team within it;
- *loop closed*: a barrier that is resolved, declined or merged **and** whose reporter has been
  told (the relay reached them); *confirmed*: closed, and the reporter said "Got it";
- *overdue*: open, held by the team, and past its due date.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import Hop, Item, Team
from bot.domain import CLOSED_STATES, OPEN_STATES, Kind

OPEN = [s.value for s in OPEN_STATES]
CLOSED = [s.value for s in CLOSED_STATES]


@dataclass
class TeamStats:
    team_id: str
    open: int = 0  # held by this team and not closed
    new: int = 0  # held by this team, waiting for its decision (new or just escalated to it)
    waiting_above: int = 0  # passed through this team, open, now held by a team above
    overdue: int = 0  # held here, open, past due
    response_days: list[float] = field(default_factory=list)  # each decision's time to response
    originated: int = 0  # barriers reported to this team
    closed_loops: int = 0  # of those, closed with the reporter told
    confirmed_loops: int = 0  # of those, the reporter said "Got it"

    @property
    def median_days_to_response(self) -> float | None:
        return round(statistics.median(self.response_days), 1) if self.response_days else None

    @property
    def closed_share(self) -> float | None:
        return round(self.closed_loops / self.originated, 3) if self.originated else None


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400.0


async def team_stats(  # noqa: C901 - split it when it next grows
    s: AsyncSession, now: datetime, since: datetime | None = None, team_ids: list[str] | None = None
) -> dict[str, TeamStats]:
    """Stats for every (or the given) team. `since` limits response times and loops to items
    created since then; queue counts are always current."""
    teams_q = select(Team.id)
    if team_ids is not None:
        teams_q = teams_q.where(Team.id.in_(team_ids))
    out = {tid: TeamStats(tid) for tid in (await s.scalars(teams_q)).all()}

    held_counts = (
        select(
            Item.holding_team_id,
            func.count(),
            func.sum(_case(Item.state.in_(["new", "escalated"]))),
            func.sum(_case(and_(Item.due_at.is_not(None), Item.due_at < now))),
        )
        .where(Item.state.in_(OPEN))
        .group_by(Item.holding_team_id)
    )
    if team_ids is not None:
        held_counts = held_counts.where(Item.holding_team_id.in_(team_ids))
    for tid, n, new, overdue in (await s.execute(held_counts)).all():
        if tid in out:
            out[tid].open, out[tid].new, out[tid].overdue = int(n), int(new or 0), int(overdue or 0)

    above_q = (
        select(Hop.team_id, func.count())
        .join(Item, Item.id == Hop.item_id)
        .where(Hop.left_at.is_not(None), Item.state.in_(OPEN))
        .group_by(Hop.team_id)
    )
    if team_ids is not None:
        above_q = above_q.where(Hop.team_id.in_(team_ids))
    for tid, n in (await s.execute(above_q)).all():
        if tid in out:
            out[tid].waiting_above = int(n)

    resp_q = (
        select(Hop.team_id, Hop.arrived_at, Hop.left_at, Item.closed_at, Item.closed_by_team_id)
        .join(Item, Item.id == Hop.item_id)
        .where((Hop.left_at.is_not(None)) | (Item.closed_by_team_id == Hop.team_id))
    )
    if since is not None:
        resp_q = resp_q.where(Hop.arrived_at >= since)  # served by ix_hops_team_arrived
    if team_ids is not None:
        resp_q = resp_q.where(Hop.team_id.in_(team_ids))
    for tid, arrived, left, closed_at, closed_by in (await s.execute(resp_q)).all():
        decided = left if left is not None else (closed_at if closed_by == tid else None)
        if tid in out and decided is not None:
            out[tid].response_days.append(_days(arrived, decided))

    loops_q = (
        select(
            Item.origin_team_id,
            func.count(),
            func.sum(_case(and_(Item.state.in_(CLOSED), Item.reporter_told_at.is_not(None)))),
            func.sum(
                _case(
                    and_(
                        Item.state.in_(CLOSED),
                        Item.reporter_told_at.is_not(None),
                        Item.reporter_ack == "got_it",
                    )
                )
            ),
        )
        .where(Item.kind == Kind.BARRIER.value)
        .group_by(Item.origin_team_id)
    )
    if since is not None:
        loops_q = loops_q.where(Item.created_at >= since)
    if team_ids is not None:
        loops_q = loops_q.where(Item.origin_team_id.in_(team_ids))
    for tid, n, closed, confirmed in (await s.execute(loops_q)).all():
        if tid in out:
            out[tid].originated, out[tid].closed_loops = int(n), int(closed or 0)
            out[tid].confirmed_loops = int(confirmed or 0)
    return out


class SharedStats:
    """Every team's loop figures, computed once and shared by the jobs due in the same minute.

    Building 2,000 digests one team at a time costs 2,000 x 4 statements over each team's
    items; all teams at once costs 4 statements. Figures may be up to `ttl` seconds old,
    which is fine for an agenda or a digest. Use one instance per running process (it is
    keyed by the minute of `now` and the window, not by database).
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._key: tuple[datetime, datetime | None] | None = None
        self._at = 0.0
        self._stats: dict[str, TeamStats] = {}
        self._lock = asyncio.Lock()

    async def get(
        self, s: AsyncSession, now: datetime, since: datetime | None, team_id: str
    ) -> TeamStats:
        key = (
            now.replace(second=0, microsecond=0),
            since and since.replace(second=0, microsecond=0),
        )
        async with self._lock:
            if key != self._key or time.monotonic() - self._at > self.ttl:
                self._stats = await team_stats(s, now, since=since)
                self._key, self._at = key, time.monotonic()
        return self._stats.get(team_id) or TeamStats(team_id)


def _case(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return case((cond, 1), else_=0)


async def breakdown(
    s: AsyncSession,
    team_id: str | None = None,
    since: datetime | None = None,
    within: Select[Any] | None = None,
) -> dict[str, Counter[str]]:
    """Counts of barriers by implementation driver, by who is affected, and by the free-text
    subgroup (e.g. "English learners"; counted case-insensitively, shown as first written).
    `within`: only the items whose ids it selects."""
    q = select(Item.driver, Item.affected, Item.subgroup).where(Item.kind == Kind.BARRIER.value)
    if team_id is not None:
        q = q.where(Item.id.in_(select(Hop.item_id).where(Hop.team_id == team_id)))
    if since is not None:
        q = q.where(Item.created_at >= since)
    if within is not None:
        q = q.where(Item.id.in_(within))
    drivers: Counter[str] = Counter()
    affected: Counter[str] = Counter()
    subgroups: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for driver, who, subgroup in (await s.execute(q.order_by(Item.id))).all():
        drivers[driver or "other"] += 1
        for w in who or []:
            affected[str(w)] += 1
        if group := " ".join((subgroup or "").split()):
            subgroups[spelled.setdefault(group.lower(), group)] += 1
    return {"driver": drivers, "affected": affected, "subgroup": subgroups}


async def link_response_times(
    s: AsyncSession, within: Select[Any] | None = None
) -> list[tuple[str, str, float | None, int]]:
    """Per link (team below -> team above): median days the team above took to decide
    (`within`: only over the items whose ids it selects)."""
    below = Hop.__table__.alias("below")
    q = (
        select(
            below.c.team_id,
            Hop.team_id,
            Hop.arrived_at,
            Hop.left_at,
            Item.closed_at,
            Item.closed_by_team_id,
        )
        .join(below, and_(below.c.item_id == Hop.item_id, below.c.seq == Hop.seq - 1))
        .join(Item, Item.id == Hop.item_id)
        .where(Hop.seq > 0)
    )
    if within is not None:
        q = q.where(Hop.item_id.in_(within))
    times: dict[tuple[str, str], list[float]] = {}
    for low, high, arrived, left, closed_at, closed_by in (await s.execute(q)).all():
        decided = left if left is not None else (closed_at if closed_by == high else None)
        bucket = times.setdefault((low, high), [])
        if decided is not None:
            bucket.append(_days(arrived, decided))
    return [
        (low, high, round(statistics.median(v), 1) if v else None, len(v))
        for (low, high), v in sorted(times.items())
    ]


async def opened_vs_resolved(
    s: AsyncSession, now: datetime, weeks: int = 12, within: Select[Any] | None = None
) -> list[tuple[str, int, int]]:
    """Per week (Monday, UTC), for the last `weeks` weeks: items opened and items closed
    (`within`: only the items whose ids it selects)."""
    start_day = (now - timedelta(days=now.weekday())).date() - timedelta(weeks=weeks - 1)
    start = datetime.combine(start_day, datetime.min.time(), tzinfo=now.tzinfo)
    buckets = {(start_day + timedelta(weeks=i)).isoformat(): [0, 0] for i in range(weeks)}

    def week(d: datetime) -> str:
        day = d.date()
        return (day - timedelta(days=day.weekday())).isoformat()

    opened = select(Item.created_at).where(Item.created_at >= start)
    closed_q = select(Item.closed_at).where(Item.closed_at >= start)
    if within is not None:
        opened, closed_q = opened.where(Item.id.in_(within)), closed_q.where(Item.id.in_(within))
    for (created,) in (await s.execute(opened)).all():
        if week(created) in buckets:
            buckets[week(created)][0] += 1
    for (closed,) in (await s.execute(closed_q)).all():
        if closed is not None and week(closed) in buckets:
            buckets[week(closed)][1] += 1
    return [(k, v[0], v[1]) for k, v in buckets.items()]
