"""Role-scoped pages in headless Chromium (issue 14): a member, a lead, a district leader and
an admin each sign in with Slack (the fake OpenID Connect provider, tests/fakes/oidc.py, over
real HTTP) on a `serve`-mode server, and see what they may and not what they may not; another
team's page answers 403. Each page is photographed at 1280 and 375 px wide into
test-artifacts/roles/, and at 375 px nothing may be wider than the screen.

Needs Debian's chromium (`apt-get install chromium`) or LOOPLINK_CHROMIUM=/path/to/chrome.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from adapters.local import LocalChat
from adapters.local.providers import microsoft_provider, slack_provider
from bot.clock import FixedClock
from looplink.server import build_server
from tests.fakes.oidc import FakeOidc
from tests.test_browser import ARGS, CHROMIUM, assert_accessible_names
from tests.web_support import ROOT, settings_for

SHOTS = ROOT / "test-artifacts" / "roles"
WIDTHS = (1280, 375)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: install Debian's chromium package (or set LOOPLINK_CHROMIUM)",
    ),
]

SLACK_IDS = {"carol": "U0CAROL", "alice": "U0ALICE", "dana": "U0DANA", "kaya": "U0KAYA"}


@dataclass
class Live:
    url: str
    browser: Browser
    fake: FakeOidc
    microsoft: FakeOidc
    errors: list[str] = field(default_factory=list)


async def seed(chat: LocalChat, clock: FixedClock) -> None:
    """Carol (Lincoln) reports for English learners; Maya (Oak Grove, Millbrook) reports;
    Hana (Washington) reports and escalates to Riverside, where it goes overdue; Alice thanks
    Carol; Bob reports anonymously."""
    base = {"driver": "coaching", "affected": "students"}
    await chat.submit(
        "carol",
        "barrier",
        {
            **base,
            "summary": "Screener data arrives three weeks late",
            "subgroup": "English learners",
        },
    )
    await chat.submit("maya", "barrier", {**base, "summary": "No substitute cover for coaching"})
    await chat.submit(
        "hana",
        "barrier",
        {**base, "summary": "Coaching logs are on paper", "driver": "data_systems"},
    )
    await chat.submit(
        "hana",
        "decide",
        {"note": "The district owns the data system"},
        {"item": "3", "decision": "escalate"},
    )
    await chat.submit(
        "bob", "barrier", {**base, "summary": "Training slots clash with duty", "anonymous": "yes"}
    )
    await chat.say("alice", "kudos @carol for raising the screener delay")
    clock.advance(days=21)


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Live]:
    db = tmp_path / "roles.db"
    shutil.copy(sqlite_template, db)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    async with FakeOidc() as fake, FakeOidc() as microsoft:
        microsoft.issuer_override = microsoft.base + "/{tenantid}/v2.0"  # Entra, multi-tenant
        providers = (
            slack_provider(fake.client_id, fake.client_secret, fake.discovery_url),
            microsoft_provider(
                microsoft.client_id, microsoft.client_secret, microsoft.discovery_url
            ),
        )
        settings = settings_for(f"sqlite:///{db}", demo=False, sign_in=providers)
        server = await build_server(settings, clock=clock)
        await seed(LocalChat(server.rt), clock)
        runner = web.AppRunner(server.app, access_log=None, shutdown_timeout=2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        SHOTS.mkdir(parents=True, exist_ok=True)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                live = Live(f"http://127.0.0.1:{runner.addresses[0][1]}", browser, fake, microsoft)
                yield live
                assert live.errors == [], live.errors
            finally:
                await browser.close()
                await runner.cleanup()


async def signed_in(live: Live, who: str, width: int = 1280) -> Page:
    """A fresh browser context signed in as `who` with Slack (through the fake provider)."""
    ctx = await live.browser.new_context(viewport={"width": width, "height": 900})
    page = await ctx.new_page()
    page.set_default_timeout(15_000)
    page.on(
        "console",  # a 403 page is what the test asks for; any other error is a failure
        lambda m: (
            live.errors.append(m.text)
            if m.type == "error" and "status of 403" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: live.errors.append(str(e)))
    live.fake.account = {
        "sub": SLACK_IDS[who],
        "https://slack.com/user_id": SLACK_IDS[who],
        "https://slack.com/team_id": "T0RIVER",
    }
    await page.goto(f"{live.url}/login?next=/me")
    await page.get_by_role("link", name="Sign in with Slack").click()
    await page.wait_for_url(f"{live.url}/me")
    return page


async def shoot(page: Page, name: str) -> None:
    """Screenshots at both widths; at 375 px nothing may stick out to the right."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if width == 375:
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 375, f"{name} is {wide} px wide at 375"
    await page.set_viewport_size({"width": 1280, "height": 900})


async def forbidden(page: Page, live: Live, path: str) -> None:
    resp = await page.goto(live.url + path)
    assert resp is not None and resp.status == 403, path
    await expect(page.locator("h1")).to_have_text("This is not part of what you can see")


async def test_a_member_sees_their_reports_and_kudos(live: Live) -> None:
    page = await signed_in(live, "carol")
    main = page.locator("main")
    await expect(main).to_contain_text("Screener data arrives three weeks late")
    await expect(main).to_contain_text("raising the screener delay")
    await expect(main).not_to_contain_text("No substitute cover")
    await expect(page.locator("nav.sections")).not_to_contain_text("Dashboard")
    await assert_accessible_names(page)
    await shoot(page, "member-me")
    await page.get_by_role("link", name="#1").first.click()
    await expect(page.locator("main")).to_contain_text("Audit trail")
    await shoot(page, "member-item")
    await page.goto(live.url + "/")
    assert page.url.endswith("/me")  # the front door: her own page, not the playground
    for path in ("/items/2", "/dashboard?team=riverside", "/teams/lincoln"):
        await forbidden(page, live, path)
    await shoot(page, "member-403")


async def test_a_lead_sees_their_team(live: Live) -> None:
    page = await signed_in(live, "alice")
    await page.goto(f"{live.url}/teams/lincoln")
    main = page.locator("main")
    await expect(main).to_contain_text("Queue (2)")
    await expect(main).to_contain_text("Screener data arrives three weeks late")
    await expect(main).to_contain_text("Agenda for the next meeting")
    bobs = main.locator("#queue article.item", has_text="Training slots clash")
    await expect(bobs).to_contain_text("Reported by Anonymous")  # Bob's report is anonymous
    await expect(bobs).not_to_contain_text("Bob Tanaka")
    await assert_accessible_names(page)
    await shoot(page, "lead-team")
    await forbidden(page, live, "/teams/washington")
    await forbidden(page, live, "/items/3")


async def test_a_district_leader_sees_her_subtree(live: Live) -> None:
    page = await signed_in(live, "dana")
    await page.locator("nav.sections").get_by_role("link", name="Dashboard").click()
    main = page.locator("main")
    await expect(main.locator("#teams")).to_contain_text("Lincoln Elementary")
    await expect(main.locator("#teams")).to_contain_text("Washington Middle")
    await expect(main.locator("#teams")).not_to_contain_text("Oak Grove")
    await expect(main.locator("#stuck")).to_contain_text("1 overdue")
    await expect(main).not_to_contain_text("No substitute cover")
    await assert_accessible_names(page)
    await shoot(page, "leader-dashboard")
    await page.select_option("#f-affected", label="Group: English learners")
    await page.get_by_role("button", name="Apply").click()
    await expect(main.locator("article.item")).to_have_count(1)
    await shoot(page, "leader-filtered")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download CSV").click()
    text = Path(await (await download.value).path()).read_text()
    assert text.count("\n") == 2 and "English learners" in text  # header + the one on screen
    await forbidden(page, live, "/dashboard?team=millbrook")
    await forbidden(page, live, "/teams/oakgrove")


async def test_an_admin_sees_everything(live: Live) -> None:
    page = await signed_in(live, "kaya")
    await page.locator("nav.sections").get_by_role("link", name="Dashboard").click()
    main = page.locator("main")
    await expect(main.locator("#teams")).to_contain_text("Oak Grove")
    await expect(main.locator("#teams")).to_contain_text("Lincoln Elementary")
    await expect(main).to_contain_text("No substitute cover")
    await expect(main.locator("#paths")).not_to_contain_text("Bob Tanaka")
    await shoot(page, "admin-dashboard")
    await page.goto(f"{live.url}/teams/harbor")
    await expect(page.locator("main")).to_contain_text("Nothing waits for this team")
    await shoot(page, "admin-empty-team")


async def test_the_sign_in_page(live: Live) -> None:
    ctx = await live.browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    await page.goto(f"{live.url}/dashboard")
    await expect(page.get_by_role("link", name="Sign in with Slack")).to_be_visible()
    await shoot(page, "signin")
    live.fake.account = {
        "sub": "U0NOBODY",
        "https://slack.com/user_id": "U0NOBODY",
        "https://slack.com/team_id": "T0RIVER",
    }
    await page.get_by_role("link", name="Sign in with Slack").click()
    await expect(page.locator("h1")).to_have_text("You are not signed in")
    await shoot(page, "signin-nobody")


async def test_signing_in_with_microsoft(live: Live) -> None:
    """Henry (State team's coach) has no Teams identity yet: his Entra account, in the
    organisation's declared tenant, is linked by its verified email and he lands on his page."""
    ctx = await live.browser.new_context(viewport={"width": 375, "height": 900})
    page = await ctx.new_page()
    live.microsoft.account = {
        "sub": "pairwise",
        "oid": "00000000-0000-0000-0000-0000000e0001",
        "tid": "72f988bf-0000-4000-8000-00000000c0de",
        "email": "henry.lindqvist@state.example",
        "xms_edov": True,
    }
    await page.goto(f"{live.url}/login")
    await page.get_by_role("link", name="Sign in with Microsoft").click()
    await page.wait_for_url(f"{live.url}/me")  # not a leader: the dashboard sends him home
    await expect(page.locator("header .signed-in")).to_have_text("Henry Lindqvist")
    await expect(page.locator("main")).to_contain_text("You have not reported anything yet")
    await shoot(page, "microsoft-member-empty")
