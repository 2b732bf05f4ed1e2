"""Web sessions for the dashboard and playground in serve mode (issue 10, "web sessions"),
over real HTTP against the real server with LOOPLINK_ADMIN_TOKEN.

Sessions are random, stored, rotated at sign-in, revoked at sign-out and refused when old;
the cookie is HttpOnly, SameSite=Lax, and Secure behind HTTPS (X-Forwarded-Proto believed only
from LOOPLINK_TRUSTED_PROXIES); admin-token guesses are throttled and locked out per client;
short tokens are refused at start; every HTML response carries the CSP and nosniff.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import WebSession
from bot.db.session import Database
from bot.sessions import IDLE, MAX_AGE, SessionStore
from bot.settings import Settings, SettingsError
from tests.client import Client
from tests.web_support import act, server_of, serving, settings_for

TOKEN = "k3Yb7Q9sX1vT5mN8pR2wZ4cF6hJ0dL3gA7eU9iO1"
COOKIE = "looplink_session"
HTML = {"Accept": "text/html"}
CSP = "Content-Security-Policy"


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url, demo=False, admin_token=TOKEN), clock) as c:
        yield c


async def sign_in(client: Client, headers: dict[str, str] | None = None) -> ClientResponse:
    resp = await client.post(
        "/login",
        data={"token": TOKEN, "next": "/dashboard"},
        headers=headers or {},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    return resp


def session_cookie(resp: ClientResponse) -> str:
    return resp.cookies[COOKIE].value


async def opens(client: Client, cookie: str) -> bool:
    """Whether this cookie value alone opens the dashboard (sent by hand, as a thief would)."""
    client.session.cookie_jar.clear()
    resp = await client.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"})
    return resp.status == 200


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field in the page"
    return found.group(1)


# ---- sessions ---------------------------------------------------------------------------------


async def test_sessions_are_random_and_end_at_sign_out(client: Client) -> None:
    first = session_cookie(await sign_in(client))
    client.session.cookie_jar.clear()
    second = session_cookie(await sign_in(client))
    assert first != second and len(first) >= 40 and TOKEN not in first
    assert await opens(client, first) and await opens(client, second)
    client.session.cookie_jar.update_cookies({COOKIE: second})
    page = await client.get("/dashboard")
    out = await client.post(
        "/logout", data={"csrf": csrf_of(await page.text())}, allow_redirects=False
    )
    assert out.status == 303
    assert not await opens(client, second)  # revoked, not just deleted from the browser
    assert await opens(client, first)  # another sign-in is its own session


async def test_sign_in_replaces_the_session_the_browser_had(client: Client) -> None:
    before = session_cookie(await sign_in(client))
    after = session_cookie(await sign_in(client))  # the browser still sends `before`
    assert after != before
    assert not await opens(client, before) and await opens(client, after)


async def test_sessions_end_when_old_or_idle(client: Client, clock: FixedClock) -> None:
    old = session_cookie(await sign_in(client))
    for _ in range(int(MAX_AGE / (IDLE / 2))):  # used every hour: never idle
        assert await opens(client, old)
        clock.advance(seconds=(IDLE / 2).total_seconds())
    assert not await opens(client, old)  # 12 hours after sign-in, used or not
    idle = session_cookie(await sign_in(client))
    clock.advance(seconds=(IDLE + timedelta(minutes=1)).total_seconds())
    assert not await opens(client, idle)


async def test_the_database_holds_no_usable_cookie(client: Client) -> None:
    cookie = session_cookie(await sign_in(client))
    async with server_of(client).rt.db.transaction() as s:
        rows = (await s.scalars(select(WebSession))).all()
    assert [r.principal for r in rows] == ["admin"]
    assert cookie not in {r.id_hash for r in rows}
    assert not await opens(client, rows[0].id_hash)


async def test_cookie_flags(db_url: str, clock: FixedClock) -> None:
    settings = settings_for(db_url, demo=False, admin_token=TOKEN, trusted_proxies=("10.9.9.9",))
    async with serving(settings, clock) as c:
        plain = (await sign_in(c)).cookies[COOKIE]
        assert plain["httponly"] and plain["samesite"] == "Lax" and plain["path"] == "/"
        assert not plain["secure"]
        assert int(plain["max-age"]) == int(MAX_AGE.total_seconds())
        # a client that is not a trusted proxy cannot claim HTTPS
        claimed = (await sign_in(c, {"X-Forwarded-Proto": "https"})).cookies[COOKIE]
        assert not claimed["secure"]
    settings = settings_for(db_url, demo=False, admin_token=TOKEN, trusted_proxies=("127.0.0.1",))
    async with serving(settings, clock) as c:
        proxied = (await sign_in(c, {"X-Forwarded-Proto": "https"})).cookies[COOKIE]
        assert proxied["secure"]
        proxied = (await sign_in(c, {"X-Forwarded-Proto": "https, http"})).cookies[COOKIE]
        assert not proxied["secure"]  # the nearest proxy's word counts


async def test_a_cookie_post_needs_the_session_csrf_token(client: Client) -> None:
    await sign_in(client)
    page = await client.get("/", params={"as": "carol"})
    token = csrf_of(await page.text())
    data = {"as": "carol", "conv": "dm", "kind": "text", "text": "help"}
    assert (await client.post("/play/act", data=data)).status == 403
    assert (await client.post("/play/act", data={**data, "csrf": "x" * 43})).status == 403
    ok = await client.post(
        "/play/act", data={**data, "csrf": token}, headers={"X-Playground": "fetch"}
    )
    assert ok.status == 200
    # scripts with the bearer token need none (no ambient credential to abuse)
    client.session.cookie_jar.clear()
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-Playground": "fetch"}
    assert (await client.post("/play/act", data=data, headers=bearer)).status == 200


# ---- guessing the token -----------------------------------------------------------------------


async def test_admin_token_guesses_are_throttled_per_client(db_url: str, clock: FixedClock) -> None:
    settings = settings_for(db_url, demo=False, admin_token=TOKEN, trusted_proxies=("127.0.0.1",))
    async with serving(settings, clock) as c:
        attacker = {"X-Forwarded-For": "198.51.100.7"}
        statuses = []
        for i in range(300):
            r = await c.post("/login", data={"token": f"guess-{i}"}, headers=attacker)
            statuses.append(r.status)
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        locked = await c.post("/login", data={"token": TOKEN}, headers=attacker)
        assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
        assert "Too many wrong tokens" in await locked.text()
        bearer = {**attacker, "Authorization": f"Bearer {TOKEN}"}
        assert (await c.get("/dashboard", headers=bearer)).status == 429
        # another client is not locked out
        other = {"X-Forwarded-For": "203.0.113.9"}
        assert (
            await c.post("/login", data={"token": TOKEN}, headers=other, allow_redirects=False)
        ).status == 303
        # bearer guesses count too
        for i in range(5):
            wrong = {"X-Forwarded-For": "192.0.2.1", "Authorization": f"Bearer nope-{i}"}
            assert (await c.get("/dashboard", headers=wrong)).status == 401
        right = {"X-Forwarded-For": "192.0.2.1", "Authorization": f"Bearer {TOKEN}"}
        assert (await c.get("/dashboard", headers=right)).status == 429
        clock.advance(minutes=16)
        assert (await c.get("/dashboard", headers=right)).status == 200
        ok = await c.post("/login", data={"token": TOKEN}, headers=attacker, allow_redirects=False)
        assert ok.status == 303


@pytest.mark.parametrize("token", ["1", "s3cret", "x" * 31])
def test_a_short_admin_token_is_refused_at_start(token: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"LOOPLINK_ADMIN_TOKEN": token})
    message = str(err.value)
    assert "LOOPLINK_ADMIN_TOKEN is too short" in message and "at least 32" in message
    assert 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"' in message
    assert Settings.from_env({"LOOPLINK_ADMIN_TOKEN": "x" * 32}).admin_token == "x" * 32


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(SettingsError, match="LOOPLINK_TRUSTED_PROXIES: 'proxy.local'"):
        Settings.from_env({"LOOPLINK_TRUSTED_PROXIES": "10.0.0.1, proxy.local"})
    s = Settings.from_env({"LOOPLINK_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16, ::1"})
    assert s.trusted_proxies == ("10.0.0.1", "192.168.0.0/16", "::1")


# ---- headers on every HTML response -----------------------------------------------------------


def is_html(resp: ClientResponse) -> bool:
    return "text/html" in resp.headers.get("Content-Type", "")


async def test_every_html_response_carries_the_policy(client: Client) -> None:
    seen: list[tuple[str, int]] = []

    def check(where: str, resp: ClientResponse) -> None:
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
        if is_html(resp):
            seen.append((where, resp.status))
            assert "default-src 'self'" in resp.headers.get(CSP, ""), where
            assert "frame-ancestors 'none'" in resp.headers[CSP], where

    check("login", await client.get("/login"))
    check("bad login", await client.post("/login", data={"token": "nope"}))
    check("signed out", await client.get("/dashboard", headers=HTML, allow_redirects=True))
    await sign_in(client)
    check("dashboard", await client.get("/dashboard"))
    check("playground", await client.get("/", params={"as": "carol"}))
    check("not found", await client.get("/", params={"as": "nobody"}))
    check("fragment", await client.get("/play/messages", params={"as": "carol", "conv": "dm"}))
    page = await client.get("/", params={"as": "carol"})
    data: dict[str, Any] = {"as": "carol", "conv": "dm", "kind": "text", "text": "help"}
    check("act", await client.post("/play/act", data={**data, "csrf": csrf_of(await page.text())}))
    check("static", await client.get("/static/style.css"))
    check("healthz", await client.get("/healthz"))
    check("unknown", await client.get("/no/such/page"))
    wheres = {w for w, _ in seen}
    assert {"login", "bad login", "dashboard", "playground", "not found", "fragment"} <= wheres


async def test_the_demo_needs_no_sign_in_and_keeps_the_policy(
    db_url: str, clock: FixedClock
) -> None:
    async with serving(settings_for(db_url), clock) as c:
        await act(c, "carol", text="help", kind="text")
        frag = await c.get("/play/messages", params={"as": "carol", "conv": "dm"})
        assert frag.status == 200 and CSP in frag.headers


# ---- the store, for later sign-ins ---------------------------------------------------------


async def test_session_store_api(db: Database, clock: FixedClock) -> None:
    store = SessionStore(db, clock)
    cookie, session = await store.create("slack:T1:U2", "slack-oidc")
    found = await store.lookup(cookie)
    assert found == session and found.principal == "slack:T1:U2"
    assert store.csrf_ok(session, session.csrf) and not store.csrf_ok(session, "nope")
    assert await store.lookup("x" * 43) is None and await store.lookup("") is None
    new_cookie, _ = await store.rotate(cookie, "slack:T1:U2", "slack-oidc")
    assert await store.lookup(cookie) is None and await store.lookup(new_cookie) is not None
    other, _ = await store.create("slack:T1:U2", "slack-oidc")
    assert await store.count_live("slack:T1:U2") == 2
    assert await store.revoke_all("slack:T1:U2") == 2
    assert await store.lookup(new_cookie) is None and await store.lookup(other) is None
    clock.advance(days=8)
    assert await store.purge() == 3
