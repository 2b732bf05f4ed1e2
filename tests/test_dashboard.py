"""The loop dashboard over HTTP: figures, paths, charts, sign-in, and anonymity."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest

from adapters.local.dashboard_charts import hbar, weekly_lines
from adapters.local.dashboard_data import days
from adapters.local.web import marks
from bot.clock import FixedClock
from tests.client import Client
from tests.web_support import act, serving, settings_for, text_of

TOKEN = "s3cret-admin-token-for-the-dashboard-tests"
HTML = {"Accept": "text/html"}


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url), clock) as c:
        yield c


async def run_loop(client: Client, clock: FixedClock, anonymous: bool) -> None:
    """Carol reports; Alice escalates a day later; Dana resolves two days after that."""
    await act(
        client,
        "carol",
        kind="submit",
        form_id="barrier",
        **{
            "f.summary": "Screener data arrives three weeks late",
            "f.affected": "students",
            "f.driver": "data_systems",
            "f.anonymous": "yes" if anonymous else "",
        },
    )
    clock.advance(days=1)
    await act(client, "alice", "team:lincoln", kind="action", action="decide:escalate", value="1")
    await act(
        client,
        "alice",
        "team:lincoln",
        kind="submit",
        form_id="decide",
        **{"f.note": "Vendor contract is held by the district"},
    )
    clock.advance(days=2)
    await act(client, "dana", "team:riverside", kind="action", action="decide:resolve", value="1")
    await act(
        client,
        "dana",
        "team:riverside",
        kind="submit",
        form_id="decide",
        **{"f.note": "Coaches get dashboard access"},
    )


def row(html: str, team: str) -> dict[str, str]:
    m = re.search(rf'<tr data-team="{team}">(.*?)</tr>', html, re.S)
    assert m, team
    cells = re.findall(r'<td data-col="(\w+)"[^>]*>(.*?)</td>', m.group(1), re.S)
    return {k: text_of(v) for k, v in cells}


async def test_empty_dashboard_shows_every_team(client: Client) -> None:
    resp = await client.get("/dashboard")
    html = await resp.text()
    assert resp.status == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]  # nothing from a CDN
    for team in ("state", "riverside", "millbrook", "lincoln", "washington", "oakgrove", "harbor"):
        assert f'data-team="{team}"' in html
    assert "No reports yet" in html
    assert html.index('data-team="state"') < html.index('data-team="riverside"')
    assert html.index('data-team="riverside"') < html.index('data-team="lincoln"')


async def test_dashboard_reflects_the_loop(client: Client, clock: FixedClock) -> None:
    await run_loop(client, clock, anonymous=False)
    await act(
        client,
        "bob",
        kind="submit",
        form_id="barrier",
        **{"f.summary": "Coaching time is cut", "f.driver": "coaching", "f.affected": "staff"},
    )
    html = await (await client.get("/dashboard")).text()
    assert row(html, "lincoln") == {
        "open": "1 (1 new)",
        "above": "0",
        "overdue": "0",
        "median": "1 day",
        "closed": "50% (1 of 2; 0 confirmed)",
        "selfcheck": "—",
    }
    assert row(html, "riverside")["median"] == "2 days"
    # the path, with its timestamps (Chicago time) and the escalation note
    item = html[html.index('id="item-1"') :]
    item = item[: item.index("</article>")]
    text = text_of(item)
    assert "Reported by Carol Jensen on Mon 23 Nov 2026 08:00" in text
    assert "Lincoln Elementary Implementation Team arrived Mon 23 Nov 2026 08:00" in text
    assert "escalated Tue 24 Nov 2026 08:00 : “Vendor contract is held by the district”" in text
    assert "resolved Thu 26 Nov 2026 08:00 : “Coaches get dashboard access”" in text
    assert "Reporter told Thu 26 Nov 2026 08:00" in text
    assert re.search(r"escalated\s*</td>\s*<td[^>]*>Alice Reyes</td>", item)
    # charts: inline SVG with the figures in their descriptions, and the numbers as tables
    assert html.count('<svg class="chart"') == 4
    assert "Decision-support data systems: 1; Coaching: 1" in html
    assert "Lincoln Elementary → Riverside District: 2 days (median of 1 decision)" in html
    assert "Riverside District → State: no decision yet" not in html
    assert "<script" not in html.replace('<script src="/static/', "")


async def test_an_anonymous_reporter_is_never_shown(client: Client, clock: FixedClock) -> None:
    await run_loop(client, clock, anonymous=True)
    # carol answers the follow-up as the (anonymous) reporter
    await act(client, "carol", kind="action", action="feedback:better", value="1")
    html = await (await client.get("/dashboard")).text()
    for secret in ("carol", "Carol", "Jensen", "U0CAROL"):
        assert secret not in html, secret
    assert "Reported by Anonymous" in text_of(html)
    assert "Anonymous reporter" in html
    assert "Alice Reyes" in html  # the deciders are shown


async def test_serve_mode_needs_the_admin_token(db_url: str, clock: FixedClock) -> None:
    settings = settings_for(db_url, demo=False, admin_token=TOKEN)
    async with serving(settings, clock) as client:
        page = await client.get("/dashboard", headers=HTML, allow_redirects=False)
        assert page.status == 303
        assert unquote(page.headers["Location"]) == "/login?next=/dashboard"
        assert (await client.get("/dashboard")).status == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get("/dashboard", headers=wrong)).status == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/dashboard", headers=bearer)).status == 200
        # the playground is behind the same sign-in outside demo mode
        assert (await client.get("/", params={"as": "carol"})).status == 401
        assert (await client.post("/play/act", data={"as": "carol", "kind": "text"})).status == 401
        assert (await client.get("/play/events", params={"as": "carol"})).status == 401

        form = await client.get("/login", params={"next": "/dashboard"})
        assert 'name="token"' in await form.text()
        bad = await client.post("/login", data={"token": "guess", "next": "/dashboard"})
        assert bad.status == 401 and "That token is not right." in await bad.text()
        ok = await client.post(
            "/login", data={"token": TOKEN, "next": "https://evil.example/"}, allow_redirects=False
        )
        assert ok.status == 303 and ok.headers["Location"] == "/dashboard"  # never off-site
        cookie = ok.cookies["looplink_session"]
        assert TOKEN not in cookie.value and cookie["httponly"] and cookie["samesite"] == "Lax"
        signed = await client.get("/dashboard")
        assert signed.status == 200 and "Sign out" in await signed.text()
        playground = await client.get("/", params={"as": "carol"})
        assert playground.status == 200 and "Sign out" in await playground.text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', await signed.text())
        assert csrf is not None
        out = await client.post("/logout", data={"csrf": csrf.group(1)}, allow_redirects=False)
        assert out.status == 303 and out.cookies["looplink_session"].value == ""
        assert (await client.get("/dashboard")).status == 401


async def test_serve_mode_without_a_token_turns_the_pages_off(
    db_url: str, clock: FixedClock
) -> None:
    async with serving(settings_for(db_url, demo=False), clock) as client:
        resp = await client.get("/dashboard", headers={"Authorization": "Bearer "})
        assert resp.status == 403 and "LOOPLINK_ADMIN_TOKEN" in await resp.text()
        assert (await client.get("/login")).status == 403


async def test_the_dashboard_is_served_without_the_playground(
    db_url: str, clock: FixedClock
) -> None:
    settings = settings_for(db_url, demo=False, admin_token=TOKEN, local_enabled=False)
    async with serving(settings, clock) as client:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/dashboard", headers=bearer)).status == 200
        assert (await client.get("/", headers=bearer)).status == 404


def test_message_marks_are_escaped_first() -> None:
    assert str(marks("*bold* and _it_ <b>x</b> & snake_case_name")) == (
        "<strong>bold</strong> and <em>it</em> &lt;b&gt;x&lt;/b&gt; &amp; snake_case_name"
    )


def test_charts_escape_labels_and_state_their_figures() -> None:
    svg = str(hbar("c", "T <x>", [("<script>", 3.0, ""), ("b", None, "no decision yet")]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "&lt;script&gt;: 3; b: no decision yet" in svg
    lines = str(weekly_lines("w", "Weekly", [("2026-11-16", 2, 0), ("2026-11-23", 1, 3)]))
    assert "week of 16 Nov: 2 opened, 0 resolved; week of 23 Nov: 1 opened, 3 resolved" in lines
    # a bar per non-zero count, each with its number written above it; + the legend's 2 keys
    assert lines.count('<rect x="') == 3 + 2 and "<polyline" not in lines
    assert re.findall(r">(\d)</text>", lines).count("3") >= 1


def test_days_read_well() -> None:
    assert days(None) == "—"
    assert days(0.0) == "under 0.1 days"  # a demo decided in minutes is not "0.0"
    assert days(1.0) == "1 day" and days(2.5) == "2.5 days" and days(1.04) == "1 day"
    assert days(0.0, [0.5, 1.5, 3.0]) == "1.5 days"  # the unrounded figures when known


async def test_dashboard_shows_the_self_check_aggregated(client: Client, clock: FixedClock) -> None:
    """Issue 15: the meeting self-check's averages and trend, never who answered."""
    for who, typed in (("alice", "4 3 5"), ("carol", "2 3 3 secret note")):
        await act(client, who, kind="text", text=f"selfcheck {typed}")
    html = await (await client.get("/dashboard")).text()
    cell = row(html, "lincoln")["selfcheck"]
    assert "2 answers" in cell and "good use of time 3/5" in cell, cell
    assert "Alice" not in cell and "Carol" not in cell
    assert row(html, "riverside")["selfcheck"] == "—"
