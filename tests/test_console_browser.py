"""The admin console in headless Chromium (serve mode, signed in with the admin token): the
admin adds a person and a building team under a district, and the next report from that
person routes through the new team (its card in the new team's channel, its escalation to the
district). Screenshots at 1280 and 375 px go to test-artifacts/console/.

Needs Debian's chromium (`apt-get install chromium`) or LOOPLINK_CHROMIUM=/path/to/chrome.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Page, async_playwright, expect

from looplink.server import build_server
from tests.test_browser import ARGS, CHROMIUM, Live, assert_accessible_names, card, new_page
from tests.web_support import ROOT, settings_for

TOKEN = "k3Yb7Q9sX1vT5mN8pR2wZ4cF6hJ0dL3gA7eU9iO1"
SHOTS = ROOT / "test-artifacts" / "console"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: install Debian's chromium package (or set LOOPLINK_CHROMIUM)",
    ),
]


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Live]:
    """A real Looplink in serve mode (admin token, no demo) and a headless Chromium."""
    db = tmp_path / "console.db"
    shutil.copy(sqlite_template, db)
    server = await build_server(settings_for(f"sqlite:///{db}", demo=False, admin_token=TOKEN))
    runner = web.AppRunner(server.app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            live = Live(f"http://127.0.0.1:{runner.addresses[0][1]}", browser)
            yield live
            # a form sent back with its errors is a 422, which Chromium logs: not a fault
            errors = [e for e in live.errors if "status of 422" not in e]
            assert errors == [], errors
        finally:
            await browser.close()
            await runner.cleanup()


async def shots(page: Page, name: str, fits: bool = True) -> None:
    """The page at 1280 px and at 375 px (a phone), whole; a console page no wider than the
    screen (`fits`; the playground's own width is issue 14's "looks" part, not the console's)."""
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 900})
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width or not fits, f"{name} is {wide} px wide at {width} px"
        await page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_admin_adds_a_building_team_and_the_next_report_routes_through_it(
    live: Live,
) -> None:
    admin = await new_page(live)
    await admin.goto(f"{live.url}/console")
    await admin.get_by_label("Admin token").fill(TOKEN)
    await admin.get_by_role("button", name="Sign in").click()
    await expect(admin.get_by_role("heading", level=1)).to_contain_text("Admin console")
    await expect(admin.locator('li[data-team="state"]')).to_contain_text(
        "meets first Wednesday of each month at 10:00"
    )
    await assert_accessible_names(admin)
    await shots(admin, "01-console")

    # a new person, found afterwards by email
    await admin.get_by_role("link", name="People").first.click()
    await admin.get_by_label("Id (letters, digits, - _ .)").fill("zoe")
    await admin.get_by_label("Name", exact=True).fill("Zoe Park")
    await admin.get_by_label("Email", exact=True).fill("zoe.park@riverside.example")
    await admin.get_by_role("button", name="Add the person").click()
    await expect(admin.locator(".saved")).to_contain_text("Saved.")
    await expect(admin.locator('li[data-person="zoe"]')).to_contain_text("On no team yet")

    # a building team under Riverside District; first without a lead: the file's own message
    await admin.goto(f"{live.url}/console")
    await (
        admin.locator('li[data-team="riverside"]')
        .get_by_role("link", name=re.compile("Add a team under it"))
        .click()
    )
    await expect(admin.get_by_label("Reports to (the linked team above)")).to_have_value(
        "riverside"
    )
    await admin.get_by_label(re.compile("^Id")).fill("jefferson")
    await admin.get_by_label("Name", exact=True).fill("Jefferson Elementary Implementation Team")
    await admin.get_by_label("Response time to the team below (working days)").fill("4")
    await admin.get_by_label("Meeting", exact=True).fill("0 10 1-7 * wed")
    await admin.get_by_label("Agenda goes out this many minutes before the meeting").fill("1440")
    await admin.get_by_label("Add a person (name, email, or Slack or Teams user id)").fill(
        "zoe.park@riverside.example"
    )
    await admin.get_by_role("button", name="Add the team").click()
    await expect(admin.locator(".alert")).to_contain_text("Nothing was saved.")
    await expect(admin.locator("fieldset").filter(has_text="Members and roles")).to_contain_text(
        "Team 'jefferson' has no lead"
    )
    await expect(admin.get_by_label("Meeting", exact=True)).to_have_value("0 10 1-7 * wed")  # kept
    await expect(admin.locator("#meeting-preview")).to_contain_text(
        "first Wednesday of each month at 10:00, agenda the day before"
    )
    await assert_accessible_names(admin)
    await shots(admin, "02-team-form-error")

    await admin.get_by_label("Zoe Park").select_option("lead")
    await admin.get_by_role("button", name="Add the team").click()
    await expect(admin.locator(".saved")).to_contain_text("Saved. The change is live")
    await shots(admin, "03-team-saved")
    await admin.goto(f"{live.url}/console")
    await expect(admin.locator('li[data-team="jefferson"]')).to_contain_text("lead Zoe Park")
    await expect(admin.locator("#rule-h + p + details summary")).to_contain_text(
        "2 edits made here are not in the org file yet"
    )
    await expect(admin.locator("#changes")).to_contain_text("team jefferson created")

    # Zoe's next report goes to Jefferson, whose channel gets the card; escalated, Riverside
    await admin.goto(f"{live.url}/?as=zoe&conv=dm")
    await admin.wait_for_selector("body[data-live=on]")
    box = admin.get_by_label("Write to Looplink")
    await admin.get_by_role("button", name="Report a barrier").click()
    await admin.get_by_label("What is getting in the way?").fill(
        "The new screener needs laptops we do not have"
    )
    await admin.get_by_role("button", name="Send to my team").click()
    await expect(admin.locator("#messages li.note.reply").last).to_contain_text(
        "is with Jefferson Elementary Implementation Team"
    )
    assert await box.count() == 1
    await admin.goto(f"{live.url}/?as=zoe&conv=team:jefferson")
    await admin.wait_for_selector("body[data-live=on]")
    barrier = card(admin, "Barrier #1")
    await expect(barrier).to_contain_text("The new screener needs laptops")
    await barrier.get_by_role("button", name="Escalate").click()
    await admin.get_by_label("Why it cannot be solved at this level").fill(
        "Devices are bought by the district"
    )
    await admin.get_by_role("button", name="Confirm").click()
    await expect(admin.locator("#messages")).to_contain_text(
        "was sent up to Riverside District Implementation Team"
    )
    await shots(admin, "04-jefferson-escalated", fits=False)
    await admin.goto(f"{live.url}/?as=dana&conv=team:riverside")
    await admin.wait_for_selector("body[data-live=on]")
    await expect(card(admin, "Barrier #1")).to_contain_text("Devices are bought by the district")
    await shots(admin, "05-riverside-received", fits=False)


async def test_the_console_in_spanish_for_a_browser_that_asks_for_spanish(live: Live) -> None:
    """The admin token is no person, so the browser's language decides (Accept-Language)."""
    admin = await live.browser.new_page(locale="es-US", viewport={"width": 1366, "height": 860})
    admin.set_default_timeout(10_000)
    admin.on("pageerror", lambda e: live.errors.append(str(e)))
    await admin.goto(f"{live.url}/console")
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    await admin.get_by_label("Token de administración").fill(TOKEN)
    await admin.get_by_role("button", name="Iniciar sesión con el token").click()
    await expect(admin.get_by_role("heading", level=1)).to_contain_text("Consola de administración")
    await expect(admin.locator('li[data-team="state"]')).to_contain_text(
        "se reúne el primer miércoles de cada mes a las 10:00"
    )
    await expect(admin.locator("#changes")).to_contain_text(
        "se aplicó el archivo de la organización"
    )
    await assert_accessible_names(admin)
    await shots(admin, "06-console-es")

    await admin.goto(f"{live.url}/console/teams/new?parent=riverside")
    await admin.get_by_label(re.compile("^Id")).fill("jefferson")
    await admin.get_by_label("Nombre", exact=True).fill("Equipo de Jefferson")
    await admin.get_by_label("Plazo de respuesta al equipo de abajo (días hábiles)").fill("cuatro")
    await admin.get_by_label("Reunión", exact=True).fill("0 10 1-7 * wed")
    await admin.get_by_role("button", name="Agregar el equipo").click()
    await expect(admin.locator(".alert")).to_contain_text("No se guardó nada.")
    await expect(admin.locator("#response_days-err1")).to_contain_text(
        "debe ser un número entero de días hábiles de 1 a 90, no 'cuatro'"
    )
    await expect(admin.locator("fieldset").filter(has_text="Miembros y funciones")).to_contain_text(
        "El equipo 'jefferson' no tiene miembros"
    )
    await expect(admin.get_by_label("Reunión", exact=True)).to_have_value("0 10 1-7 * wed")
    await expect(admin.locator("#meeting-preview")).to_contain_text(
        "el primer miércoles de cada mes a las 10:00, agenda 2 horas antes"
    )
    await assert_accessible_names(admin)
    await shots(admin, "07-team-form-error-es")


async def test_the_dashboard_and_a_team_page_in_spanish(live: Live) -> None:
    """The web pages' longer Spanish words still fit: the dashboard and a team page read by a
    Spanish browser (the admin token is no person: Accept-Language decides), at 1280 and 375 px."""
    page = await live.browser.new_page(locale="es-US", viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda e: live.errors.append(str(e)))
    await page.goto(f"{live.url}/dashboard")
    await page.get_by_label("Token de administración").fill(TOKEN)
    await page.get_by_role("button", name="Iniciar sesión con el token").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Panel del ciclo")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", name="Equipos vinculados")).to_be_visible()
    await expect(page.get_by_label("Reportado en")).to_contain_text("los últimos 30 días")
    await assert_accessible_names(page)
    await shots(page, "08-dashboard-es")
    await page.goto(f"{live.url}/teams/riverside")
    await expect(page.get_by_role("heading", name="Agenda de la próxima reunión")).to_be_visible()
    await expect(page.locator("h1 .level")).to_have_text("distrito")
    await shots(page, "09-team-es")
