"""The admin console over real HTTP against the real server (serve mode, admin token): admins
only (403 for anyone else signed in), CSRF on every form, the org file's validation with the
typed values kept and each error next to its field, every change audited, the rule that the
org file wins shown on the page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import Membership, OrgChange, Team
from bot.sessions import SessionStore
from tests.client import Client
from tests.web_support import server_of, serving, settings_for, text_of

TOKEN = "k3Yb7Q9sX1vT5mN8pR2wZ4cF6hJ0dL3gA7eU9iO1"
COOKIE = "looplink_session"

NEW_TEAM = {
    "id": "jefferson",
    "name": "Jefferson Elementary Implementation Team",
    "level": "building",
    "parent": "riverside",
    "response_days": "4",
    "timezone": "America/Chicago",
    "meeting": "0 10 1-7 * wed",
    "agenda_before": "1440",
    "digest": "",
    "recognition": "",
    "add_person": "kofi.mensah@riverside.example",
    "add_role": "lead",
}


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url, demo=False, admin_token=TOKEN), clock) as c:
        yield c


async def sign_in(client: Client) -> None:
    resp = await client.post(
        "/login", data={"token": TOKEN, "next": "/console"}, allow_redirects=False
    )
    assert resp.status == 303


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def form_token(client: Client, path: str = "/console/teams/new") -> str:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_of(await resp.text())


async def test_the_admin_adds_a_team_and_it_is_audited(client: Client) -> None:
    await sign_in(client)
    page = await client.get("/console")
    body = text_of(await page.text())
    assert page.status == 200 and "Which wins: the org file" in body
    assert "first Wednesday of each month at 10:00" in body  # the state team's meeting
    csrf = await form_token(client)
    resp = await client.post(
        "/console/teams/new", data={**NEW_TEAM, "csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/console/teams/jefferson?saved=1"
    page = await client.get("/console/teams/jefferson?saved=1")
    body = text_of(await page.text())
    assert "Saved." in body
    assert "Meets: first Wednesday of each month at 10:00, agenda the day before" in body
    async with server_of(client).rt.db.transaction() as s:
        team = await s.get(Team, "jefferson")
        assert team is not None and team.parent_id == "riverside"
        member = await s.get(Membership, ("jefferson", "kofi"))
        assert member is not None and member.role == "lead"
        rows = (await s.scalars(select(OrgChange))).all()
    change = rows[-1]
    assert (change.actor, change.source, change.action, change.entity) == (
        "admin",
        "console",
        "create",
        "team:jefferson",
    )
    assert ["member kofi", "", "lead"] in change.changes
    overview = text_of(await (await client.get("/console")).text())
    assert "1 edit made here is not in the org file yet" in overview
    assert "team jefferson created" in overview


async def test_a_wrong_form_keeps_what_was_typed_and_says_where(client: Client) -> None:
    await sign_in(client)
    csrf = await form_token(client)
    bad = {**NEW_TEAM, "response_days": "a week", "meeting": "tuesdays", "csrf": csrf}
    resp = await client.post("/console/teams/new", data=bad)
    html = await resp.text()
    assert resp.status == 422
    assert 'value="a week"' in html and 'value="tuesdays"' in html
    assert 'value="kofi.mensah@riverside.example"' in html  # the person to add, as typed
    field = html[html.index('for="f-response_days"') : html.index('id="f-response_days"')]
    assert "Response_days must be a whole number of working days from 1 to 90" in field
    assert 'aria-invalid="true"' in html[html.index('id="f-response_days"') :][:200]
    field = html[html.index('for="f-meeting"') : html.index('id="f-meeting"')]
    assert "Bad cron &#39;tuesdays&#39;" in field or "Bad cron 'tuesdays'" in field
    assert "Nothing was saved." in text_of(html)
    async with server_of(client).rt.db.transaction() as s:
        assert await s.get(Team, "jefferson") is None
        assert (await s.scalars(select(OrgChange).where(OrgChange.source == "console"))).all() == []


async def test_a_person_not_found_and_a_member_removed_stay_on_the_form(client: Client) -> None:
    await sign_in(client)
    csrf = await form_token(client, "/console/teams/lincoln")
    page = await (await client.get("/console/teams/lincoln")).text()
    assert 'name="role:carol"' in page
    data = {
        "csrf": csrf,
        "name": "Lincoln Elementary Implementation Team",
        "level": "building",
        "parent": "riverside",
        "response_days": "3",
        "timezone": "America/Chicago",
        "role:alice": "lead",
        "role:carol": "remove",
        "was:carol": "member",
        "add_person": "Nobody Atall",
    }
    resp = await client.post("/console/teams/lincoln", data=data)
    html = await resp.text()
    assert resp.status == 422
    assert "No one matches “Nobody Atall”" in text_of(html)
    carol = html[html.index('name="role:carol"') :][:900]
    assert '<option value="remove" selected>' in carol


async def test_forms_without_the_csrf_token_are_refused(client: Client) -> None:
    await sign_in(client)
    resp = await client.post("/console/teams/new", data=NEW_TEAM)
    assert resp.status == 403
    resp = await client.post("/console/teams/new", data={**NEW_TEAM, "csrf": "forged"})
    assert resp.status == 403
    csrf = await form_token(client)
    resp = await client.post(
        "/console/teams/new",
        data={**NEW_TEAM, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert resp.status == 403
    async with server_of(client).rt.db.transaction() as s:
        assert await s.get(Team, "jefferson") is None


async def test_people_who_are_not_admins_get_403(client: Client) -> None:
    store = SessionStore(server_of(client).rt.db, server_of(client).rt.clock)
    carol, _ = await store.create("person:carol", "oidc:slack")  # signed in, but no admin
    kaya, _ = await store.create("person:kaya", "oidc:slack")  # examples/org.yaml: admins: [kaya]
    client.session.cookie_jar.update_cookies({COOKIE: carol})
    for path in ("/console", "/console/teams/lincoln", "/console/people?q=carol"):
        resp = await client.get(path)
        assert resp.status == 403, path
        assert "Admins only" in await resp.text()
    resp = await client.post("/console/teams/lincoln/deactivate", data={})
    assert resp.status == 403
    client.session.cookie_jar.update_cookies({COOKIE: kaya})
    assert (await client.get("/console")).status == 200
    client.session.cookie_jar.clear()
    resp = await client.get("/console", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    assert (await client.post("/console/calendar", data={})).status == 401


async def test_people_calendar_and_deactivation_pages(client: Client) -> None:
    await sign_in(client)
    found = text_of(await (await client.get("/console/people?q=U0CAROL")).text())
    assert "Carol Jensen" in found and "On Lincoln Elementary Implementation Team" in found
    csrf = await form_token(client, "/console/people")
    resp = await client.post(
        "/console/people", data={"csrf": csrf, "id": "bad id!", "name": "", "email": ""}
    )
    body = text_of(await resp.text())
    assert resp.status == 422 and "person id 'bad id!' has characters we cannot use" in body.lower()
    resp = await client.post(
        "/console/people",
        data={"csrf": csrf, "id": "zoe", "name": "Zoe Park", "email": "zoe@x.example"},
        allow_redirects=False,
    )
    assert resp.status == 303
    resp = await client.post("/console/calendar", data={"csrf": csrf, "holidays": "someday"})
    html = await resp.text()
    assert resp.status == 422 and "someday" in html
    assert "&#39;someday&#39; is not a date" in html or "'someday' is not a date" in html
    resp = await client.post(
        "/console/calendar",
        data={"csrf": csrf, "weekends": "pause", "holidays": "2026-12-24\n2026-12-25"},
        allow_redirects=False,
    )
    assert resp.status == 303
    resp = await client.post("/console/teams/riverside/deactivate", data={"csrf": csrf})
    assert resp.status == 422
    assert "has unknown parent &#39;riverside&#39;" in await resp.text()
    resp = await client.post(
        "/console/teams/harbor/deactivate", data={"csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303
    resp = await client.post(
        "/console/people/zoe/deactivate", data={"csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303
    assert (await client.get("/console/teams/harbor")).status == 404
    async with server_of(client).rt.db.transaction() as s:
        q = select(OrgChange).where(OrgChange.source == "console").order_by(OrgChange.id)
        rows = (await s.scalars(q)).all()
    assert [(r.action, r.entity) for r in rows] == [
        ("create", "person:zoe"),
        ("edit", "calendar"),
        ("deactivate", "team:harbor"),
        ("deactivate", "person:zoe"),
    ]
