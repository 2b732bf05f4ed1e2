"""Clusters as leaders see them: groups of similar open items across the teams below a team.

    await clusters(s, now, team_ids=below)   # for a district or state view
    await clusters(s, now)                   # the whole organisation (`looplink similar --all`)

Each cluster says how many teams and people it touches, its drivers, how long the oldest
item has waited and a label (the summary of its most typical item). People are counted, never
named: an anonymous reporter is one more person, nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Item, SimilarDoc, Team
from bot.domain import OPEN_STATES
from bot.messages import Button
from bot.similar import model
from bot.texts import _driver, texts

OPEN = [s.value for s in OPEN_STATES]


@dataclass
class ClusterView:
    group_id: int
    kind: str
    label: str  # the summary of its most typical item
    items: list[Item]  # oldest first
    teams: list[Team]  # the teams the items were reported to, by name
    people: int  # distinct reporters (anonymous ones included, never named)
    drivers: list[tuple[str, int]]  # most common first
    oldest_days: int  # how long the oldest item has waited
    labels: dict[int, str] = field(default_factory=dict)  # item id -> team name, for lines

    @property
    def item_ids(self) -> list[int]:
        return [i.id for i in self.items]


async def descendants(s: AsyncSession, team_id: str) -> set[str]:
    """The active teams below `team_id` (not the team itself), one query per level."""
    out: set[str] = set()
    frontier = {team_id}
    for _ in range(50):  # the org file refuses deeper chains
        rows = (
            await s.scalars(
                select(Team.id).where(Team.parent_id.in_(sorted(frontier)), Team.active)
            )
        ).all()
        frontier = set(rows) - out - {team_id}
        if not frontier:
            break
        out |= frontier
    return out


async def clusters(
    s: AsyncSession,
    now: datetime,
    team_ids: set[str] | None = None,
    *,
    min_teams: int = 2,
    limit: int = 10,
    kind: str | None = "barrier",
) -> list[ClusterView]:
    """The largest groups of similar open items reported to `team_ids` (all teams: None),
    spanning at least `min_teams` teams, widest first."""
    scope: list[ColumnElement[bool]] = [Item.state.in_(OPEN), SimilarDoc.group_id.is_not(None)]
    if team_ids is not None:
        if not team_ids:
            return []
        scope.append(Item.origin_team_id.in_(sorted(team_ids)))
    if kind is not None:
        scope.append(Item.kind == kind)
    n_teams = func.count(func.distinct(Item.origin_team_id))
    top = (
        await s.execute(
            select(SimilarDoc.group_id)
            .join(Item, Item.id == SimilarDoc.item_id)
            .where(*scope)
            .group_by(SimilarDoc.group_id)
            .having(n_teams >= min_teams, func.count() >= 2)
            .order_by(n_teams.desc(), func.count().desc(), func.min(Item.created_at))
            .limit(limit)
        )
    ).all()
    ids = [int(gid) for (gid,) in top if gid is not None]
    if not ids:
        return []
    rows = (
        await s.execute(
            select(Item, SimilarDoc.group_id, SimilarDoc.counts)
            .join(SimilarDoc, SimilarDoc.item_id == Item.id)
            .where(*scope, SimilarDoc.group_id.in_(ids))
            .order_by(Item.created_at, Item.id)
        )
    ).all()
    teams = {t.id: t for t in (await s.scalars(select(Team))).all()}
    members: dict[int, list[tuple[Item, str]]] = {gid: [] for gid in ids}
    for item, gid, counts in rows:
        if gid is not None:
            members[int(gid)].append((item, counts))
    return [_view(gid, members[gid], teams, now) for gid in ids if members[gid]]


def _view(
    gid: int, members: list[tuple[Item, str]], teams: dict[str, Team], now: datetime
) -> ClusterView:
    items = [i for i, _ in members]
    origin = sorted({i.origin_team_id for i in items}, key=lambda t: _name(teams, t))
    drivers = Counter(i.driver or "other" for i in items).most_common()
    oldest = min(i.created_at for i in items)
    return ClusterView(
        group_id=gid,
        kind=items[0].kind,
        label=typical([(i.summary, c) for i, c in members]),
        items=items,
        teams=[teams[t] for t in origin if t in teams],
        people=len({i.reporter_id for i in items}),
        drivers=drivers,
        oldest_days=max(0, (now - oldest).days),
        labels={i.id: _name(teams, i.origin_team_id) for i in items},
    )


def _name(teams: dict[str, Team], team_id: str) -> str:
    t = teams.get(team_id)
    return t.name if t else team_id


def typical(members: list[tuple[str, str]]) -> str:
    """The summary of the member whose features the most other members share."""
    decoded = [(summary, model.decode(counts)) for summary, counts in members]
    shared: Counter[str] = Counter()
    for _, c in decoded:
        shared.update(c.keys())
    best = max(
        decoded,
        key=lambda sc: sum(shared[f] - 1 for f in sc[1]) / (len(sc[1]) ** 0.5 or 1.0),
    )
    return best[0]


@dataclass(frozen=True)
class ClusterLine:
    """A cluster as a message line shows it (plain values only)."""

    label: str
    teams: int
    level: str  # what its teams are ("building"), or "team" when they differ
    people: int
    oldest_days: int
    drivers: tuple[str, ...]  # labels, most common first
    ids: tuple[int, ...]


def line(c: ClusterView) -> ClusterLine:
    levels = {t.level for t in c.teams}
    return ClusterLine(
        label=c.label,
        teams=len(c.teams),
        level=levels.pop() if len(levels) == 1 else "team",
        people=c.people,
        oldest_days=c.oldest_days,
        drivers=tuple(_driver(d) for d, _ in c.drivers[:3]),
        ids=tuple(c.item_ids),
    )


async def lines_below(
    s: AsyncSession, team: Team, now: datetime, limit: int = 5
) -> list[ClusterLine]:
    """The widest clusters of open barriers across the teams below `team` (none for a team
    with no team below)."""
    below = await descendants(s, team.id)
    if not below:
        return []
    return [line(c) for c in await clusters(s, now, below, limit=limit)]


MAX_RESPOND = 200  # items one "respond to all" button carries


def respond_buttons(lines: list[ClusterLine]) -> tuple[Button, ...]:
    out = []
    for c in lines:
        ids = c.ids[:MAX_RESPOND]
        label = texts().render("similar_words", which="respond", n=len(ids), first=ids[0])
        out.append(Button(label, "cluster", ",".join(str(i) for i in ids)))
    return tuple(out)
