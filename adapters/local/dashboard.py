"""The loop dashboard (GET /dashboard): for leads and implementation specialists.

The linked-team tree with each team's queue and response figures, charts (by driver, by who
is affected, opened vs resolved per week, time to response per link) and the path of each
barrier through the teams with its audit log. An anonymous reporter is never shown.

`looplink demo` serves it openly; any other mode requires the admin token (see web.py).
"""

from __future__ import annotations

import statistics

from aiohttp import web

from adapters.local import dashboard_charts as charts
from adapters.local.dashboard_data import load, short
from adapters.local.signin import mount_login, protected, settings_of
from adapters.local.signin_oidc import mount_oidc
from adapters.local.web import WEB, html, mount_context, mount_static
from bot.runtime import Runtime
from bot.settings import Settings


async def dashboard(request: web.Request) -> web.StreamResponse:
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        d = await load(s, rt.clock.now())
    links = [
        (
            f"{short(low)} → {short(high)}",
            median,
            f"{days(median)} (median of {n} decision{'s' if n != 1 else ''})"
            if n
            else "no decision yet",
        )
        for low, high, median, n in d.links
    ]
    link_table = [(short(low), short(high), days(median), n) for low, high, median, n in d.links]
    demo = settings_of(request).demo
    return html(
        "dashboard.html",
        d=d,
        demo=demo,
        signed_in_with_token=not demo,
        chart_driver=charts.hbar("c-driver", "Barriers by implementation driver", _rows(d.drivers)),
        chart_affected=charts.hbar("c-affected", "Barriers by who is affected", _rows(d.affected)),
        chart_weeks=charts.weekly_lines("c-weeks", "Items opened and resolved per week", d.weeks),
        chart_links=charts.hbar("c-links", "Median days to response per link", links, ""),
        link_rows=links,
        days=days,
        link_table=link_table,
    )


def days(median: float | None, raw: list[float] | None = None) -> str:
    """A median in days as people read it: "—" for none, "under 0.1" rather than "0.0"."""
    if raw:
        median = statistics.median(raw)
    if median is None:
        return "—"
    if median < 0.05:
        return "under 0.1 days"
    return f"{median:.1f} day{'' if round(median, 1) == 1 else 's'}"


def _rows(counts: list[tuple[str, int]]) -> list[tuple[str, float | None, str]]:
    return [(label, float(n), "") for label, n in counts]


def add_dashboard_routes(app: web.Application, rt: Runtime, settings: Settings) -> None:
    mount_context(app, rt, settings)
    mount_static(app)
    mount_login(app)
    mount_oidc(app)
    app.router.add_get("/dashboard", protected(dashboard))
