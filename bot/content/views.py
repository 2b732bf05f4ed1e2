"""Read-side queries for scheduled messages, shaped for templates.

Every function issues a fixed number of statements whatever the number of items, so a
minute in which thousands of agendas fall due stays cheap. Anonymous reporters are never
loaded into a view: `ItemView.reporter` is None for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import AgendaItem, Hop, Item, Kudos, Membership, Person, Team
from bot.domain import OPEN_STATES, Kind, State

OPEN = [s.value for s in OPEN_STATES]
LIST_LIMIT = 10  # longest list shown in one section; the rest is "and N more"


@dataclass
class ItemView:
    id: int
    kind: str
    summary: str
    driver: str
    urgency: str
    state: str
    anonymous: bool
    reporter: str | None  # the reporter's name; None when anonymous
    origin: str  # team names
    holding: str
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    age_days: int
    response: str = ""
    closed_at: datetime | None = None
    closed_by: str = ""
    days_to_resolution: float | None = None
    outcome: str | None = None
    carry_to: list[str] = field(default_factory=list)  # who still needs to hear the response


@dataclass
class Section:
    """A capped list for a template: `items` (at most LIST_LIMIT) and how many more."""

    items: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total


def section(rows: Sequence[Any], limit: int = LIST_LIMIT) -> Section:
    return Section(list(rows[:limit]), len(rows))


@dataclass
class KudosView:
    giver: str
    target: str
    text: str
    item_id: int | None
    created_at: datetime


class Names:
    """Team and person names, loaded in at most two queries."""

    def __init__(self, teams: dict[str, Team], people: dict[str, Person]) -> None:
        self.teams = teams
        self.people = people

    def team(self, team_id: str | None) -> str:
        t = self.teams.get(team_id or "")
        return t.name if t else (team_id or "")

    def person(self, person_id: str | None) -> str:
        p = self.people.get(person_id or "")
        return p.name if p else (person_id or "")


async def load_names(
    s: AsyncSession, team_ids: Iterable[str | None] = (), person_ids: Iterable[str | None] = ()
) -> Names:
    """Names of just the teams and people a message mentions (two queries at most)."""
    tids = {t for t in team_ids if t}
    pids = {p for p in person_ids if p}
    teams: dict[str, Team] = {}
    people: dict[str, Person] = {}
    if tids:
        teams = {t.id: t for t in (await s.scalars(select(Team).where(Team.id.in_(tids))))}
    if pids:
        people = {p.id: p for p in (await s.scalars(select(Person).where(Person.id.in_(pids))))}
    return Names(teams, people)


async def names_for(s: AsyncSession, items: Iterable[Item], *extra_teams: str) -> Names:
    """Names for item views: their teams and their (non-anonymous) reporters."""
    rows = list(items)
    team_ids = {t for i in rows for t in (i.origin_team_id, i.holding_team_id, i.closed_by_team_id)}
    return await load_names(s, [*team_ids, *extra_teams], reporter_ids(rows))


def through(team_id: str) -> ColumnElement[bool]:
    """Items whose path (hops) includes the team."""
    return Item.id.in_(select(Hop.item_id).where(Hop.team_id == team_id))


async def items_where(s: AsyncSession, *conditions: ColumnElement[bool]) -> list[Item]:
    return list((await s.scalars(select(Item).where(*conditions).order_by(Item.id))).all())


async def capped(
    s: AsyncSession,
    *conditions: ColumnElement[bool],
    order_by: tuple[Any, ...] = (Item.id,),
    limit: int = LIST_LIMIT,
) -> tuple[list[Item], int]:
    """The first `limit` matching items and how many match in all (one or two statements).

    Lists that grow with the organisation (open items, items waiting above) are never loaded
    whole: a section shows at most LIST_LIMIT lines and "and N more".
    """
    q = select(Item).where(*conditions).order_by(*order_by).limit(limit)
    rows = list((await s.scalars(q)).all())
    if len(rows) < limit:
        return rows, len(rows)
    total = await s.scalar(select(func.count()).select_from(Item).where(*conditions))
    return rows, int(total or 0)


async def team_hops(s: AsyncSession, team_id: str, item_ids: Iterable[int]) -> dict[int, Hop]:
    """The team's hop on each item (the latest, should an item pass a team twice)."""
    ids = list(set(item_ids))
    if not ids:
        return {}
    q = select(Hop).where(Hop.team_id == team_id, Hop.item_id.in_(ids)).order_by(Hop.seq)
    return {h.item_id: h for h in (await s.scalars(q)).all()}


async def all_hops(s: AsyncSession, item_ids: Iterable[int]) -> dict[int, list[Hop]]:
    ids = list(set(item_ids))
    out: dict[int, list[Hop]] = {i: [] for i in ids}
    if ids:
        q = select(Hop).where(Hop.item_id.in_(ids)).order_by(Hop.item_id, Hop.seq)
        for h in (await s.scalars(q)).all():
            out[h.item_id].append(h)
    return out


def view(item: Item, names: Names, now: datetime) -> ItemView:
    days = None
    if item.closed_at is not None:
        days = round((item.closed_at - item.created_at).total_seconds() / 86400.0, 1)
    return ItemView(
        id=item.id,
        kind=item.kind,
        summary=item.summary,
        driver=item.driver,
        urgency=item.urgency,
        state=item.state,
        anonymous=item.anonymous,
        reporter=None if item.anonymous else names.person(item.reporter_id),
        origin=names.team(item.origin_team_id),
        holding=names.team(item.holding_team_id),
        created_at=item.created_at,
        due_at=item.due_at,
        overdue=bool(item.state in OPEN and item.due_at is not None and item.due_at < now),
        age_days=max(0, (now - item.created_at).days),
        response=item.response,
        closed_at=item.closed_at,
        closed_by=names.team(item.closed_by_team_id),
        days_to_resolution=days,
        outcome=item.outcome,
    )


def views(items: Iterable[Item], names: Names, now: datetime) -> list[ItemView]:
    return [view(i, names, now) for i in items]


def reporter_ids(items: Iterable[Item]) -> set[str]:
    return {i.reporter_id for i in items if not i.anonymous}


async def team_kudos(s: AsyncSession, team_id: str, since: datetime) -> list[KudosView]:
    """Recognition since `since` for the team or any of its current members."""
    members = select(Membership.person_id).where(
        Membership.team_id == team_id, Membership.active.is_(True)
    )
    rows = (
        await s.scalars(
            select(Kudos)
            .where(
                Kudos.created_at >= since,
                or_(Kudos.team_id == team_id, Kudos.person_id.in_(members)),
            )
            .order_by(Kudos.id)
        )
    ).all()
    names = await load_names(
        s, [k.team_id for k in rows], [k.giver_id for k in rows] + [k.person_id for k in rows]
    )
    return [
        KudosView(
            giver=names.person(k.giver_id),
            target=names.person(k.person_id) if k.person_id else names.team(k.team_id),
            text=k.text,
            item_id=k.item_id,
            created_at=k.created_at,
        )
        for k in rows
    ]


async def agenda_items(
    s: AsyncSession, team_id: str, since: datetime
) -> tuple[list[AgendaItem], list[AgendaItem]]:
    """(topics, action items) for the next agenda: every open one, and those done since."""
    rows = (
        await s.scalars(
            select(AgendaItem)
            .where(
                AgendaItem.team_id == team_id,
                or_(AgendaItem.done_at.is_(None), AgendaItem.done_at >= since),
            )
            .order_by(AgendaItem.id)
        )
    ).all()
    return [r for r in rows if r.kind != "action"], [r for r in rows if r.kind == "action"]


async def resolved_through(s: AsyncSession, team_id: str) -> list[Item]:
    """Every barrier resolved anywhere along a path that includes the team."""
    return await items_where(
        s, through(team_id), Item.kind == Kind.BARRIER.value, Item.state == State.RESOLVED.value
    )


def count_before(items: Iterable[Item], when: datetime) -> int:
    return sum(1 for i in items if i.closed_at is not None and i.closed_at < when)
