"""The playground and dashboard in headless Chromium: the whole loop by clicks, three people.

Carol reports a barrier at Lincoln; Alice (Lincoln lead) escalates it with a note; Dana
(Riverside lead) resolves it; Carol's page, never reloaded, shows the response; the dashboard
shows the path. Screenshots go to test-artifacts/browser/.

Needs Debian's chromium (`apt-get install chromium`) or LOOPLINK_CHROMIUM=/path/to/chrome.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from looplink.server import build_server
from tests.web_support import ROOT, settings_for

CHROMIUM = os.environ.get("LOOPLINK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "test-artifacts" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: install Debian's chromium package (or set LOOPLINK_CHROMIUM)",
    ),
]


@dataclass
class Live:
    url: str
    browser: Browser
    errors: list[str] = field(default_factory=list)  # console errors from any page


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Live]:
    """A real Looplink demo server on an ephemeral port, and a headless Chromium."""
    db = tmp_path / "browser.db"
    shutil.copy(sqlite_template, db)
    server = await build_server(settings_for(f"sqlite:///{db}"))
    runner = web.AppRunner(server.app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            live = Live(f"http://127.0.0.1:{port}", browser)
            yield live
            assert live.errors == [], live.errors
        finally:
            await browser.close()
            await runner.cleanup()


async def new_page(live: Live) -> Page:
    page = await live.browser.new_page(viewport={"width": 1366, "height": 860})
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda m: live.errors.append(m.text) if m.type == "error" else None,  # e.g. CSP
    )
    page.on("pageerror", lambda e: live.errors.append(str(e)))
    return page


async def open_as(page: Page, live: Live, person: str, conv: str = "dm") -> None:
    await page.goto(f"{live.url}/?as={person}&conv={conv}")
    await page.wait_for_selector("body[data-live=on]")  # live updates connected


UNLABELLED = """() => {
  const bad = [];
  const controls = document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]');
  for (const el of controls) {
    const label = el.labels && el.labels.length
      ? [...el.labels].map(l => l.textContent).join(' ')
      : (el.getAttribute('aria-label') || el.textContent || '');
    if (!label.trim() && !el.getAttribute('aria-labelledby')) bad.push(el.outerHTML.slice(0, 160));
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getAttribute('role') !== 'img' || !svg.querySelector('title')) {
      bad.push('svg without a title');
    }
  }
  if (document.querySelectorAll('h1').length !== 1) bad.push('not exactly one h1');
  if (!document.documentElement.lang) bad.push('no lang');
  return bad;
}"""


async def assert_accessible_names(page: Page) -> None:
    """Every control has a name, charts have titles, one h1 (a cheap, offline check)."""
    assert await page.evaluate(UNLABELLED) == []


def card(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("#messages li.msg").filter(has=page.locator("h3.msg-title", has_text=title))


async def test_the_whole_loop_by_clicks_across_three_people(live: Live) -> None:
    carol = await new_page(live)
    await open_as(carol, live, "carol")
    await carol.evaluate("window.__notReloaded = true")

    # Carol reports a barrier with the form, using the keyboard to open it
    await carol.get_by_role("button", name="Report a barrier").focus()
    await carol.keyboard.press("Enter")
    summary = carol.get_by_label("What is getting in the way?")
    await expect(summary).to_be_focused()
    await carol.get_by_role("button", name="Send to my team").click()
    await expect(carol.locator("#panel .error")).to_have_text(
        re.compile("Please say what is getting in the way")
    )
    await assert_accessible_names(carol)
    await summary.fill("The reading screener data arrives three weeks after testing")
    await carol.get_by_label("Where, when and how often?").fill("Every benchmark window")
    await carol.get_by_role("checkbox", name="Students").check()
    await carol.get_by_label("Implementation driver").select_option("data_systems")
    await carol.get_by_role("button", name="Send to my team").click()
    await expect(carol.locator("#messages li.note.reply").last).to_contain_text(
        "your barrier #1 is with Lincoln Elementary Implementation Team"
    )
    await expect(carol.locator("#panel form")).to_have_count(0)
    await carol.screenshot(path=SHOTS / "01-carol-reported.png", full_page=True)

    # Alice switches in with the "You are" picker and opens the Lincoln channel
    lead = await new_page(live)
    await open_as(lead, live, "carol")
    await lead.get_by_label("You are").select_option("alice")
    await lead.get_by_role("button", name="Switch").click()
    await lead.wait_for_url(re.compile(r"as=alice"))
    await lead.get_by_role(
        "link", name=re.compile("Lincoln Elementary Implementation Team")
    ).click()
    await lead.wait_for_selector("body[data-live=on]")
    barrier = card(lead, "Barrier #1")
    await expect(barrier).to_contain_text("Reported by")
    await expect(barrier).to_contain_text("Carol Jensen")
    await barrier.get_by_role("button", name="Escalate").click()
    note = lead.get_by_label("Why it cannot be solved at this level")
    await expect(note).to_be_focused()
    await note.fill("The vendor contract is held by the district")
    await lead.get_by_role("button", name="Confirm").click()
    await expect(lead.locator("#messages li.note.reply").last).to_contain_text(
        "#1 escalated to the team above"
    )
    await expect(barrier.get_by_role("button", name="Escalate")).to_have_count(0)
    await expect(lead.locator("#messages")).to_contain_text("was sent up to Riverside District")
    await assert_accessible_names(lead)
    await lead.screenshot(path=SHOTS / "02-alice-escalated.png", full_page=True)

    # Dana (Riverside lead) sees it with Alice's note and resolves it
    await open_as(lead, live, "dana", "team:riverside")
    barrier = card(lead, "Barrier #1")
    await expect(barrier).to_contain_text("The vendor contract is held by the district")
    await barrier.get_by_role("button", name="Resolve here").click()
    resolution = lead.get_by_label("Resolution: what was done or decided")
    await resolution.fill("Coaches get read access to the vendor dashboard from 1 December.")
    await lead.get_by_role("button", name="Confirm").click()
    await expect(lead.locator("#messages li.note.reply").last).to_contain_text("#1 resolved")
    await expect(barrier.get_by_role("button", name="Resolve here")).to_have_count(0)
    await expect(barrier).to_contain_text("Resolved by Dana Whitfield on")
    await lead.screenshot(path=SHOTS / "03-dana-resolved.png", full_page=True)

    # Carol's page, never reloaded, shows the response as it arrives
    response = carol.locator("#messages li.msg").filter(has_text="Coaches get read access")
    await expect(response).to_have_count(1)
    assert await carol.evaluate("window.__notReloaded === true")
    await response.get_by_role("button", name="Goal met").click()
    await expect(carol.locator("#messages li.note.reply").last).to_contain_text("met the goal")
    await carol.screenshot(path=SHOTS / "04-carol-got-the-response.png", full_page=True)

    # The dashboard shows the loop: Lincoln closed it, the path went Lincoln -> Riverside
    await lead.goto(f"{live.url}/dashboard")
    lincoln = lead.locator('tr[data-team="lincoln"]')
    await expect(lincoln.locator('td[data-col="closed"]')).to_contain_text("100%")
    riverside = lead.locator('tr[data-team="riverside"]')
    await expect(riverside.locator('td[data-col="median"]')).not_to_have_text("—")
    item = lead.locator("#item-1")
    await expect(item).to_contain_text("Reported by Carol Jensen")
    steps = item.locator("ol.path > li")
    await expect(steps.nth(0)).to_contain_text("Lincoln Elementary Implementation Team")
    await expect(steps.nth(0)).to_contain_text("The vendor contract is held by the district")
    await expect(steps.nth(1)).to_contain_text("Riverside District Implementation Team")
    await expect(steps.nth(1)).to_contain_text("resolved")
    await item.locator("details.audit summary").click()
    await expect(item.locator("details.audit tbody tr")).to_have_count(4)
    await expect(lead.locator("svg.chart")).to_have_count(4)
    await assert_accessible_names(lead)
    await lead.screenshot(path=SHOTS / "05-dashboard.png", full_page=True)

    # the picker: everyone, by team
    await lead.goto(live.url)
    await assert_accessible_names(lead)
    await expect(lead.get_by_role("link", name="Grace Okafor")).to_be_visible()


async def test_step_by_step_chat_and_a_second_message(live: Live) -> None:
    page = await new_page(live)
    await open_as(page, live, "carol")
    box = page.get_by_label("Write to Looplink")
    for text, expected in [
        ("barrier", "What is getting in the way?"),
        ("The copier on floor 2 is broken", "Where, when and how often"),
        ("cancel", "Cancelled. Nothing was sent."),
        ("help", "carries what gets in the way"),
    ]:
        await box.fill(text)
        await box.press("Enter")
        await expect(page.locator("#messages li.msg").last).to_contain_text(expected)
        await expect(box).to_be_focused()
        await expect(box).to_have_value("")
    await page.screenshot(path=SHOTS / "06-step-by-step.png", full_page=True)
