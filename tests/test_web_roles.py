"""Role-scoped web pages (issue 14) over real HTTP: what a member, a lead, a district leader
and an admin each can and cannot see; another team's data is a 403, never the data; the CSV is
exactly what is on screen; an anonymous reporter is never revealed, by any page or export for
any role, also when they later acted on their own report.

Data is made through the demo's playground (as anyone); each role then signs in with the
demo's "be this person" (the same sessions and scoping as Slack or Microsoft sign-in), and the
serve-mode checks use a session made like a Slack sign-in's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator

import pytest

from adapters.local.signin import GATE
from bot.clock import FixedClock
from bot.db.models import Person
from tests.client import Client
from tests.web_support import act, server_of, serving, settings_for, text_of

COOKIE = "looplink_session"


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url), clock) as c:
        yield c


async def report(client: Client, who: str, summary: str, **extra: str) -> None:
    fields = {"f.summary": summary, "f.driver": "coaching", "f.affected": "students"}
    fields.update({f"f.{k}": v for k, v in extra.items()})
    await act(client, who, kind="submit", form_id="barrier", **fields)


async def be(client: Client, person: str) -> None:
    resp = await client.post(
        "/login/demo", data={"person": person, "next": "/me"}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()


async def seed(client: Client, clock: FixedClock) -> None:
    """#1 Carol at Lincoln (English learners), #2 Maya at Oak Grove (Millbrook), #3 Hana at
    Washington, escalated to Riverside, overdue there; Alice gives Carol kudos."""
    await report(client, "carol", "Screener data arrives late", subgroup="English learners")
    await report(client, "maya", "No substitute cover for coaching days")
    await report(client, "hana", "Coaching logs are on paper", driver="data_systems")
    await act(client, "hana", "team:washington", kind="action", action="decide:escalate", value="3")
    await act(
        client, "hana", "team:washington", kind="submit", form_id="decide", **{"f.note": "District"}
    )
    await act(client, "alice", kind="text", text="kudos @carol for raising the screener delay")
    clock.advance(days=30)


async def status(client: Client, path: str) -> int:
    return (await client.get(path, allow_redirects=False)).status


async def test_a_member_sees_their_own_reports_and_kudos_and_nothing_else(
    client: Client, clock: FixedClock
) -> None:
    await seed(client, clock)
    await be(client, "carol")
    me = await client.get("/me")
    text = text_of(await me.text())
    assert me.status == 200
    assert "Screener data arrives late" in text and "Lincoln Elementary" in text
    assert "No substitute cover" not in text and "Coaching logs" not in text
    assert "Alice Reyes: “raising the screener delay”" in text or "Alice Reyes" in text
    assert await status(client, "/items/1") == 200
    for path in (
        "/items/2",
        "/items/3",
        "/teams/lincoln",
        "/dashboard?team=lincoln",
        "/dashboard.csv?team=state",
    ):
        assert await status(client, path) == 403, path
    assert (await client.get("/dashboard", allow_redirects=False)).headers["Location"] == "/me"


async def test_a_lead_sees_their_team_and_not_another(client: Client, clock: FixedClock) -> None:
    await seed(client, clock)
    await be(client, "alice")
    page = await client.get("/teams/lincoln")
    text = text_of(await page.text())
    assert page.status == 200
    assert "Screener data arrives late" in text and "Agenda for the next meeting" in text
    assert "Queue (1)" in text
    assert await status(client, "/items/1") == 200
    for path in (
        "/teams/washington",
        "/teams/riverside",
        "/teams/oakgrove",
        "/items/2",
        "/items/3",
        "/dashboard?team=lincoln",
    ):
        assert await status(client, path) == 403, path


async def test_a_district_leader_sees_their_subtree_only(client: Client, clock: FixedClock) -> None:
    await seed(client, clock)
    await be(client, "dana")
    dash = await client.get("/dashboard")
    html = await dash.text()
    assert dash.status == 200
    for team in ("riverside", "lincoln", "washington"):
        assert f'<tr data-team="{team}">' in html
    for team in ("state", "millbrook", "oakgrove", "harbor"):
        assert f'<tr data-team="{team}">' not in html
    assert "Screener data arrives late" in html and "Coaching logs are on paper" in html
    assert "No substitute cover" not in html
    stuck = html[html.index('id="stuck"') : html.index('id="teams"')]
    assert 'data-team="riverside"' in stuck and "1 overdue" in text_of(stuck)  # Hana's, escalated
    hanas = html[html.index('id="item-3"') :]
    assert 'class="warn overdue">overdue<' in hanas[: hanas.index("</article>")]
    assert "Group: English learners" in html  # the free-text subgroup is a filter and a chart
    for path in ("/teams/lincoln", "/teams/washington", "/teams/state", "/items/3"):
        assert await status(client, path) == 200, path  # state: she is its liaison
    for path in (
        "/dashboard?team=millbrook",
        "/dashboard?team=oakgrove",
        "/dashboard.csv?team=state",
        "/teams/oakgrove",
        "/items/2",
    ):
        assert await status(client, path) == 403, path


async def test_filters_narrow_the_page_and_the_csv_is_what_is_on_screen(
    client: Client, clock: FixedClock
) -> None:
    await seed(client, clock)
    await be(client, "dana")
    q = "?team=riverside&driver=coaching&affected=subgroup%3Aenglish+learners&period=90"
    html = await (await client.get("/dashboard" + q)).text()
    shown = sorted(set(re.findall(r'<article class="item" id="item-(\d+)"', html)))
    assert shown == ["1"]
    resp = await client.get("/dashboard.csv" + q)
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [r["id"] for r in rows] == shown
    assert rows[0]["subgroup"] == "English learners" and rows[0]["reporter"] == "Carol Jensen"
    everything = list(
        csv.DictReader(io.StringIO(await (await client.get("/dashboard.csv")).text()))
    )
    assert sorted(r["id"] for r in everything) == ["1", "3"]  # never Millbrook's #2
    html = await (await client.get("/dashboard?driver=leadership")).text()
    assert "No items match these filters" in html


async def test_an_admin_sees_everything(client: Client, clock: FixedClock) -> None:
    await seed(client, clock)
    await be(client, "kaya")
    html = await (await client.get("/dashboard")).text()
    for team in ("state", "riverside", "millbrook", "lincoln", "washington", "oakgrove", "harbor"):
        assert f'<tr data-team="{team}">' in html
    for path in ("/teams/oakgrove", "/items/2", "/dashboard?team=millbrook", "/"):
        assert await status(client, path) == 200, path


def article(html: str, item_id: int) -> str:
    start = html.index(f'id="item-{item_id}"')
    return html[start : html.index("</article>", start)]


def masked(text: str, item_id: int) -> str:
    text = re.sub(rf"(item-|/items/|#){item_id}\b", r"\1N", text)
    return re.sub(r"(Screener late|Coaching logs late)", "SUMMARY", text)


async def test_an_anonymous_reporter_who_later_acted_is_revealed_by_no_page_for_any_role(
    client: Client, clock: FixedClock
) -> None:
    """Alice (Lincoln's lead) reports #1 anonymously, Bob #2 anonymously; Alice acknowledges
    both. For every role and every page that shows them, #1 and #2 read the same, and no
    reporter's name appears."""
    await report(client, "alice", "Screener late", anonymous="yes", driver="coaching")
    await report(client, "bob", "Coaching logs late", anonymous="yes", driver="coaching")
    for item in ("1", "2"):
        await act(
            client, "alice", "team:lincoln", kind="action", action="decide:acknowledge", value=item
        )
    for who, pages in (
        ("alice", ["/teams/lincoln"]),
        ("dana", ["/dashboard", "/teams/lincoln"]),
        ("kaya", ["/dashboard", "/teams/lincoln"]),
    ):
        await be(client, who)
        for path in pages:
            html = await (await client.get(path)).text()
            one, two = masked(article(html, 1), 1), masked(article(html, 2), 2)
            assert one == two, (who, path)
            assert "Bob Tanaka" not in one + two
            assert "Reported by Anonymous" in text_of(one)
        for n in (1, 2):
            page = await client.get(f"/items/{n}")
            assert page.status == 200 and "Bob Tanaka" not in await page.text()
        if who != "alice":
            rows = list(
                csv.DictReader(io.StringIO(await (await client.get("/dashboard.csv")).text()))
            )
            assert {r["reporter"] for r in rows} == {"Anonymous"}


async def test_serve_mode_sessions_are_scoped_too(db_url: str, clock: FixedClock) -> None:
    """In `serve`, a person signed in (as by Slack) is scoped; the playground, which acts as
    anyone, is for admins only; the front door sends a member to their own page."""
    async with serving(settings_for(db_url, demo=False, admin_token="t" * 40), clock) as c:
        store = c.app[GATE].sessions
        carol, _ = await store.create("person:carol", "oidc:slack")
        kaya, _ = await store.create("person:kaya", "oidc:slack")
        c.session.cookie_jar.update_cookies({COOKIE: carol})
        assert (await c.get("/", allow_redirects=False)).headers["Location"] == "/me"
        assert await status(c, "/me") == 200
        assert (await c.post("/play/act", data={"as": "dana", "conv": "dm"})).status == 403
        assert await status(c, "/teams/lincoln") == 403
        c.session.cookie_jar.update_cookies({COOKIE: kaya})
        assert await status(c, "/") == 200
        assert await status(c, "/teams/harbor") == 200


async def test_a_person_who_left_is_signed_out(db_url: str, clock: FixedClock) -> None:
    """Deactivated after signing in: the next page ends every session of theirs."""
    async with serving(settings_for(db_url, demo=False, admin_token="t" * 40), clock) as c:
        store = c.app[GATE].sessions
        carol, _ = await store.create("person:carol", "oidc:slack")
        c.session.cookie_jar.update_cookies({COOKIE: carol})
        assert await status(c, "/me") == 200
        async with server_of(c).rt.db.transaction() as s:
            person = await s.get(Person, "carol")
            assert person is not None
            person.active = False
        resp = await c.get("/me", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/login"
        assert await store.count_live("person:carol") == 0
