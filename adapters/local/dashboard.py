"""The loop dashboard (GET /dashboard, /dashboard.csv): for leaders and admins.

A leader (lead of a team with teams below) sees their subtree, an admin the whole
organisation (bot.visibility): where it is stuck (overdue, by team), the linked-team tree
with each team's queue and response figures, charts (by driver, by who is affected and by the
reporters' own subgroup, opened vs resolved per week, time to response per link) and the path
of each barrier through the teams with its audit log. Filters (team, driver, who is affected,
period) narrow all of it; the CSV is exactly the items on screen. A team outside the
visitor's part of the system is a 403. An anonymous reporter is never shown.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from aiohttp import web

from adapters.local import dashboard_charts as charts
from adapters.local.dashboard_data import (
    PERIODS,
    Dashboard,
    Filters,
    days,
    load,
    short,
)
from adapters.local.pages import add_people_pages
from adapters.local.signin import forbidden, mount_login, protected, settings_of, viewer
from adapters.local.signin_oidc import mount_oidc
from adapters.local.web import WEB, html, iso, mount_context, mount_static
from bot.domain import DRIVER_LABELS, Affected, Driver, affected_word
from bot.i18n import _, ngettext
from bot.runtime import Runtime
from bot.settings import Settings


async def _load_for(request: web.Request) -> Dashboard | web.Response:
    """The dashboard the visitor may see, narrowed by the URL's filters; a 403 page for a team
    outside their part of the system, and their own page for someone who leads no subtree."""
    v = await viewer(request)
    f = Filters.parse(request.query)
    scope = v.dashboard_teams()
    if f.team and scope is not None and f.team not in scope:
        return forbidden(request, "team")
    if not v.is_leader:
        if f.team or request.query:
            return forbidden(request, "dashboard")
        raise web.HTTPSeeOther("/me")
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        return await load(s, rt.clock.now(), scope=scope, f=f)


async def dashboard(request: web.Request) -> web.StreamResponse:
    d = await _load_for(request)
    if isinstance(d, web.Response):
        return d
    links = [
        (
            f"{short(low)} → {short(high)}",
            median,
            ngettext(
                "%(days)s (median of %(num)d decision)",
                "%(days)s (median of %(num)d decisions)",
                n,
                days=days(median),
            )
            if n
            else _("no decision yet"),
        )
        for low, high, median, n in d.links
    ]
    link_table = [(short(low), short(high), days(median), n) for low, high, median, n in d.links]
    demo = settings_of(request).demo
    v = await viewer(request)
    return html(
        "dashboard.html",
        d=d,
        f=d.filters or Filters(),
        me=v,
        demo=demo,
        signed_in=not demo or v.person_id is not None,
        drivers=[(d.value, _(DRIVER_LABELS[d])) for d in Driver],
        affected_choices=[(a.value, affected_word(a.value).capitalize()) for a in Affected],
        periods=PERIODS,
        csv_query=urlencode((d.filters or Filters()).query()),
        chart_driver=charts.hbar(
            "c-driver", _("Barriers by implementation driver"), _rows(d.drivers)
        ),
        chart_affected=charts.hbar(
            "c-affected", _("Barriers by who is affected"), _rows(d.affected)
        ),
        chart_subgroups=charts.hbar(
            "c-subgroups",
            _("Barriers by group affected (as reporters wrote it)"),
            _rows(d.subgroups),
        ),
        chart_weeks=charts.weekly_lines(
            "c-weeks", _("Items opened and resolved per week"), d.weeks
        ),
        chart_links=charts.hbar("c-links", _("Median days to response per link"), links, ""),
        link_rows=links,
        days=days,
        link_table=link_table,
    )


CSV_COLUMNS = (
    "id", "kind", "summary", "state", "driver", "affected", "subgroup", "reported", "reporter",
    "path", "holding", "due", "closed",
)  # fmt: skip


async def dashboard_csv(request: web.Request) -> web.StreamResponse:
    """Exactly the items the dashboard shows for the same filters, as CSV (anonymous reporters
    as "Anonymous", like on screen)."""
    d = await _load_for(request)
    if isinstance(d, web.Response):
        return d
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for p in d.paths:
        i = p.item
        w.writerow(
            [
                i.id, i.kind, i.summary, p.state_label, p.driver_label, ", ".join(i.affected or []),
                i.subgroup, iso(i.created_at), p.reporter,
                " → ".join(short(step.team_name) for step in p.steps),
                short(p.steps[-1].team_name) if p.steps else "",
                iso(i.due_at) if p.is_open else "", iso(i.closed_at),
            ]
        )  # fmt: skip
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="looplink-dashboard.csv"'},
    )


def _rows(counts: list[tuple[str, int]]) -> list[tuple[str, float | None, str]]:
    return [(label, float(n), "") for label, n in counts]


def add_dashboard_routes(app: web.Application, rt: Runtime, settings: Settings) -> None:
    mount_context(app, rt, settings)
    mount_static(app)
    mount_login(app)
    mount_oidc(app)
    app.router.add_get("/dashboard", protected(dashboard))
    app.router.add_get("/dashboard.csv", protected(dashboard_csv))
    add_people_pages(app)
