"""The web pages other than the console and the playground in the reader's language (issue 17),
over real HTTP with no language forced on the server (adapters/local/page_language.py picks
each request's reader): the dashboard with its charts, a person's page, a team's page, an
item's page and the refusals.

- In the pseudo-language of tests/test_i18n_pseudo.py (everyone in the organisation reads it),
  no English escapes on any of these pages, charts' titles and descriptions included.
- In Spanish: Lucía (examples/org.yaml, `language: es`) reads them in Spanish with Spanish
  dates, while Dana, who reads English, gets the same pages in English.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.local.dashboard_data import short
from bot.clock import FixedClock
from bot.sessions import SessionStore
from tests.client import Client
from tests.test_dashboard import run_loop
from tests.test_i18n_pseudo import escaped, names, pseudo, pseudo_org  # noqa: F401 - fixture
from tests.web_support import act, server_of, serving, settings_for, text_of

COOKIE = "looplink_session"
TYPED = [
    "Screener data arrives three weeks late",
    "Vendor contract is held by the district",
    "Coaches get dashboard access",
    "leading the bilingual family night",
    "English learners",
]


@asynccontextmanager
async def demo_server(db_url: str, clock: FixedClock, org: Path) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url, org_file=org), clock) as client:
        await run_loop(client, clock, anonymous=False)
        await run_loop(client, clock, anonymous=True)
        await act(
            client,
            "carol",
            kind="submit",
            form_id="barrier",
            **{
                "f.summary": "Screener data arrives three weeks late",
                "f.affected": "families",
                "f.subgroup": "English learners",
                "f.driver": "coaching",
            },
        )
        await act(
            client, "hana", kind="text", text="kudos @lucia for leading the bilingual family night"
        )
        yield client


async def as_person(client: Client, person: str) -> None:
    store = SessionStore(server_of(client).rt.db, server_of(client).rt.clock)
    session, _ = await store.create(f"person:{person}", "demo")
    client.session.cookie_jar.update_cookies({COOKIE: session})


async def get(client: Client, path: str, status: int = 200) -> str:
    resp = await client.get(path, headers={"Accept": "text/html"})
    html = await resp.text()
    assert resp.status == status, (path, resp.status, html[:300])
    return html


async def test_no_english_escapes_on_the_web_pages(
    db_url: str,
    clock: FixedClock,
    tmp_path: Path,
    pseudo: str,  # noqa: F811 - the fixture
) -> None:
    seen: list[tuple[str, str]] = []
    async with demo_server(db_url, clock, pseudo_org(tmp_path)) as client:
        await as_person(client, "dana")  # a district lead: the dashboard, team and item pages
        for path in (
            "/dashboard",
            "/dashboard?driver=coaching&affected=families&period=30",
            "/dashboard?team=lincoln&driver=fidelity",  # nothing matches
            "/teams/lincoln",
            "/teams/riverside",
            "/items/1",
            "/items/2",
            "/me",
        ):
            seen.append((path, await get(client, path)))
        await as_person(client, "carol")  # a teacher: her own reports, refusals elsewhere
        seen.append(("carol /me", await get(client, "/me")))
        seen.append(("carol /items/1", await get(client, "/items/1")))
        seen.append(("forbidden team", await get(client, "/teams/riverside", status=403)))
        seen.append(("forbidden dashboard", await get(client, "/dashboard?team=x", status=403)))
        await as_person(client, "lucia")  # kudos received
        seen.append(("lucia /me", await get(client, "/me")))
    shorts = [short(n) for n in names()]  # the dashboard's tight places shorten team names
    known = [*names(), *shorts, *TYPED, "Riverside Regional Literacy Initiative", "Looplink"]
    known.append("America/Chicago")  # the organisation's timezone, as the org file says it
    leaks = {}
    for where, html in seen:
        html = re.sub(r"(?s)<(code|script|style)\b.*?</\1>", " ", html)
        # what a person reads, with the charts' titles and descriptions (screen readers)
        text = text_of(html)
        found = escaped(text, known)
        if found:
            leaks[where] = found
    assert not leaks, "\n".join(f"{k}: {v}" for k, v in leaks.items())
    # and the pages were really in the pseudo-language, charts included
    dashboard = seen[0][1]
    assert 'lang="qps"' in dashboard and "⟦" in dashboard
    assert re.search(r"<title id=\"c-driver-t\">⟦", dashboard)


async def test_lucia_reads_the_pages_in_spanish_and_dana_in_english(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    from tests.test_console_i18n import org_with

    async with demo_server(db_url, clock, org_with(tmp_path)) as client:
        await as_person(client, "lucia")  # an admin in this copy of the org, reading Spanish
        dashboard = text_of(await get(client, "/dashboard"))
        assert "Panel del ciclo" in dashboard and "Loop dashboard" not in dashboard
        assert "Dónde está detenido" in dashboard and "Equipos vinculados" in dashboard
        assert "Barreras por impulsor de la implementación" in dashboard
        assert "Sistemas de datos para la toma de decisiones" in dashboard  # a driver's label
        assert "Reportado por Persona" not in dashboard  # anonymous stays anonymous
        assert "Anónimo" in dashboard
        # a median in Spanish words and numbers: "2 días", never "2.0 days"
        assert re.search(r"\b\d+(,\d)? días?\b", dashboard), dashboard
        assert not re.search(r"\d days", dashboard), re.findall(r".{80}\d days.{40}", dashboard)
        # Spanish dates (Babel): "lun 23 de nov de 2026"-style, no English month names
        assert re.search(r"\b\d{1,2} de nov(iembre)? de 2026", dashboard), dashboard[:2000]
        assert "Nov 2026" not in dashboard
        me = text_of(await get(client, "/me"))
        assert "Reconocimientos" in me and "Usted recibió (1)" in me
        assert "Hana Kim" in me and "leading the bilingual family night" in me
        item = text_of(await get(client, "/items/1"))
        assert "Recorrido de la barrera #1" in item and "Registro de auditoría" in item
        assert "escaló" in item or "escalado" in item
        team = text_of(await get(client, "/teams/lincoln"))
        assert "Cifras" in team and "Agenda de la próxima reunión" in team
        assert "Tiempo de respuesta:" in team and "días hábiles" in team

        await as_person(client, "dana")  # reads English (no language of her own, org en)
        english = await get(client, "/dashboard")
        assert 'lang="en"' in english and "Loop dashboard" in text_of(english)
        assert "Panel del ciclo" not in text_of(english)
