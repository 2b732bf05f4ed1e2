"""Who may see what on Looplink's web pages (issue 14): one answer for every view and export.

- **Everyone** signed in as a person: their own page (their reports with each one's path and
  status, the kudos they gave and got).
- **A lead or liaison** of a team: that team's page (queue, agenda, figures).
- **A leader** (lead of a team with teams linked below it: a district, region or state team):
  the dashboard of their team and every team below it (their subtree), and each of those
  teams' pages.
- **An admin** (the org file's `admins:`, or the bootstrap admin token): everything.

An item is visible to a viewer who reported it (their own page), or when it passed through a
team the viewer may see. What an item shows of its reporter and of who took each step is not
decided here: `bot.views` and `bot.attribution` decide it the same for every viewer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Hop, Item, Membership, Person, Team
from bot.directory import Directory
from bot.domain import Role

TEAM_PAGE_ROLES = frozenset({Role.LEAD.value, Role.LIAISON.value})


@dataclass(frozen=True)
class Viewer:
    person_id: str | None  # None: the admin token, or the demo as nobody in particular
    name: str = ""
    admin: bool = False
    team_pages: frozenset[str] = frozenset()  # teams whose page they may open
    subtree: frozenset[str] = frozenset()  # teams on their dashboard (leaders)
    roots: tuple[str, ...] = ()  # the teams they lead that have teams below (their dashboards)

    @property
    def is_leader(self) -> bool:
        return self.admin or bool(self.subtree)

    def may_see_team(self, team_id: str) -> bool:
        return self.admin or team_id in self.team_pages or team_id in self.subtree

    def dashboard_teams(self) -> frozenset[str] | None:
        """The teams on this viewer's dashboard; None: all of them (an admin)."""
        return None if self.admin else self.subtree


EVERYTHING = Viewer(person_id=None, admin=True)
NOTHING = Viewer(person_id=None)


def below(teams: Iterable[Team], root: str) -> set[str]:
    """`root` and every active team linked below it (a cycle in the links stops the walk)."""
    children: dict[str | None, list[str]] = {}
    for t in teams:
        if t.active:
            children.setdefault(t.parent_id, []).append(t.id)
    out: set[str] = set()
    todo = [root]
    while todo:
        tid = todo.pop()
        if tid in out:
            continue
        out.add(tid)
        todo.extend(children.get(tid, []))
    return out


async def viewer_for(s: AsyncSession, person_id: str) -> Viewer:
    """What `person_id` may see; NOTHING for someone who is not an active person."""
    person = await s.get(Person, person_id)
    if person is None or not person.active:
        return NOTHING
    if await Directory(s).is_admin(person_id):
        return Viewer(person_id, person.name, admin=True)
    teams = list((await s.scalars(select(Team).where(Team.active.is_(True)))).all())
    active = {t.id for t in teams}
    has_children = {t.parent_id for t in teams if t.parent_id}
    roles = (
        await s.execute(
            select(Membership.team_id, Membership.role).where(Membership.person_id == person_id)
        )
    ).all()
    pages = {tid for tid, role in roles if role in TEAM_PAGE_ROLES and tid in active}
    roots = sorted(
        tid for tid, role in roles if role == Role.LEAD.value and tid in has_children & active
    )
    subtree: set[str] = set()
    for root in roots:
        subtree |= below(teams, root)
    return Viewer(
        person_id,
        person.name,
        team_pages=frozenset(pages | subtree),
        subtree=frozenset(subtree),
        roots=tuple(roots),
    )


async def may_see_item(s: AsyncSession, viewer: Viewer, item: Item) -> bool:
    """Whether the item is the viewer's own report or passed through a team they may see."""
    if viewer.admin:
        return True
    if viewer.person_id is not None and item.reporter_id == viewer.person_id:
        return True
    visible = viewer.team_pages | viewer.subtree
    if not visible:
        return False
    q = select(Hop.team_id).where(Hop.item_id == item.id, Hop.team_id.in_(visible)).limit(1)
    return (await s.scalar(q)) is not None
