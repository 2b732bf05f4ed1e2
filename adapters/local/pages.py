"""Each person's pages (issue 14), scoped by bot.visibility:

    GET /me              their own reports (path and status) and the kudos they gave and got
    GET /teams/<id>      a team's queue, agenda and figures: its lead or liaison, a leader
                         above it, an admin; anyone else gets 403
    GET /items/<id>      one item's path and audit trail: its reporter, anyone who may see a
                         team it passed through; anyone else gets 403

What an item shows of its reporter and of who took each step is the dashboard's
(`dashboard_data.item_paths`: `bot.attribution`), the same for every viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.local.dashboard_data import ItemPath, days, item_paths, short
from adapters.local.signin import forbidden, protected, settings_of, viewer
from adapters.local.web import WEB, html
from bot import i18n
from bot.content.agenda import build_agenda
from bot.db.models import Item, Kudos, Person, Setting, Team
from bot.domain import OPEN_STATES
from bot.i18n import _
from bot.metrics import TeamStats, team_stats
from bot.visibility import Viewer, may_see_item


@dataclass
class KudosLine:
    at: datetime
    other: str  # who gave it (got) or to whom (given)
    text: str
    item_id: int | None


async def _tz(s: AsyncSession) -> str:
    row = await s.get(Setting, "timezone")
    return str(row.value) if row is not None and row.value else "UTC"


async def _teams(s: AsyncSession) -> dict[str, Team]:
    return {t.id: t for t in (await s.scalars(select(Team))).all()}


async def _kudos(s: AsyncSession, person_id: str) -> tuple[list[KudosLine], list[KudosLine]]:
    rows = (
        await s.scalars(
            select(Kudos)
            .where(or_(Kudos.giver_id == person_id, Kudos.person_id == person_id))
            .order_by(Kudos.created_at.desc())
            .limit(200)
        )
    ).all()
    ids = {k.giver_id for k in rows} | {k.person_id for k in rows if k.person_id}
    names = {
        p.id: p.name
        for p in (await s.scalars(select(Person).where(Person.id.in_(ids or {""})))).all()
    }
    teams = await _teams(s)
    got = [
        KudosLine(k.created_at, names.get(k.giver_id, k.giver_id), k.text, k.item_id)
        for k in rows
        if k.person_id == person_id
    ]
    given = [
        KudosLine(
            k.created_at,
            names.get(k.person_id or "", "")
            or short(teams[k.team_id].name if k.team_id in teams else ""),
            k.text,
            k.item_id,
        )
        for k in rows
        if k.giver_id == person_id
    ]
    return given, got


def nav_of(v: Viewer, teams: dict[str, Team]) -> list[tuple[str, str]]:
    """The team pages this viewer may open, by name (for the page's links)."""
    ids = v.team_pages if not v.admin else set()
    return sorted(((t, short(teams[t].name)) for t in ids if t in teams), key=lambda x: x[1])


async def me_page(request: web.Request) -> web.StreamResponse:
    v = await viewer(request)
    rt = request.app[WEB].rt
    if v.person_id is None:  # the admin token or the demo as nobody: no reports of their own
        raise web.HTTPSeeOther("/dashboard")
    async with rt.db.transaction() as s:
        teams = await _teams(s)
        mine = select(Item.id).where(Item.reporter_id == v.person_id)
        paths, total = await item_paths(s, teams, 100, mine)
        given, got = await _kudos(s, v.person_id)
        tz = await _tz(s)
    for p in paths:
        p.reporter = _("you, anonymously") if p.item.anonymous else _("you")
    return html(
        "me.html",
        now=rt.clock.now(),
        me=v,
        paths=paths,
        total=total,
        given=given,
        got=got,
        tz=tz,
        team_links=nav_of(v, teams),
        demo=settings_of(request).demo,
        signed_in=True,
    )


@dataclass
class TeamFigures:
    stats: TeamStats
    median: str
    closed: str


async def team_page(request: web.Request) -> web.StreamResponse:
    v = await viewer(request)
    team_id = request.match_info["team_id"]
    if not v.may_see_team(team_id):
        return forbidden(request, "team")
    rt = request.app[WEB].rt
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        teams = await _teams(s)
        team = teams.get(team_id)
        if team is None or not team.active:
            raise web.HTTPNotFound()
        held = select(Item.id).where(
            Item.holding_team_id == team_id, Item.state.in_([st.value for st in OPEN_STATES])
        )
        queue, total = await item_paths(s, teams, 100, held)
        stats = (await team_stats(s, now, team_ids=[team_id])).get(team_id) or TeamStats(team_id)
        agenda = await build_agenda(s, team, now)
        tz = team.timezone or await _tz(s)
    figures = TeamFigures(
        stats,
        days(stats.median_days_to_response, stats.response_days),
        i18n.percent(stats.closed_share) if stats.closed_share is not None else "—",
    )
    return html(
        "team.html",
        me=v,
        team=team,
        parent=teams.get(team.parent_id or ""),
        queue=queue,
        total=total,
        figures=figures,
        agenda=agenda,
        tz=tz,
        now=now,
        demo=settings_of(request).demo,
        signed_in=True,
    )


async def item_page(request: web.Request) -> web.StreamResponse:
    v = await viewer(request)
    raw = request.match_info["item_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        item = await s.get(Item, int(raw))
        if item is None:
            raise web.HTTPNotFound()
        if not await may_see_item(s, v, item):
            return forbidden(request, "item")
        teams = await _teams(s)
        paths, _n = await item_paths(s, teams, 1, select(Item.id).where(Item.id == item.id))
        tz = await _tz(s)
    path: ItemPath = paths[0]
    if v.person_id is not None and item.reporter_id == v.person_id:
        path.reporter = _("you, anonymously") if item.anonymous else _("you")
    return html(
        "item.html",
        me=v,
        p=path,
        tz=tz,
        now=rt.clock.now(),
        demo=settings_of(request).demo,
        signed_in=True,
    )


def add_people_pages(app: web.Application) -> None:
    app.router.add_get("/me", protected(me_page))
    app.router.add_get("/teams/{team_id}", protected(team_page))
    app.router.add_get("/items/{item_id}", protected(item_page))
