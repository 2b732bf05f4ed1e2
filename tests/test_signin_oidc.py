"""Sign in with Slack and with Microsoft (OpenID Connect) against a fake provider over real
HTTP (tests/fakes/oidc.py), into the real server (issue 14).

The account is mapped to an org person through the identities Looplink links (user id within a
declared workspace or tenant, then a verified email). Refused politely, signing nobody in: a
wrong audience, a wrong issuer, an expired ID token, a replayed state, a replayed nonce (an ID
token from another sign-in), an account that is nobody, an account from an undeclared tenant.
Failed attempts are throttled per client.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import ClientResponse
from sqlalchemy import select

from adapters.local.oidc import Provider
from adapters.local.providers import microsoft_provider, providers_from_env, slack_provider
from bot.clock import FixedClock
from bot.db.models import PlatformId, SignInState, WebSession
from bot.settings import SettingsError
from tests.client import Client
from tests.fakes.oidc import FakeOidc
from tests.web_support import server_of, serving, settings_for

COOKIE = "looplink_session"
TENANT = "72f988bf-0000-4000-8000-00000000c0de"  # examples/org.yaml's Microsoft 365 tenant

ALICE_SLACK = {
    "sub": "U0ALICE",
    "https://slack.com/user_id": "U0ALICE",
    "https://slack.com/team_id": "T0RIVER",
    "email": "alice.reyes@riverside.example",
    "email_verified": True,
    "name": "Alice Reyes",
}


@dataclass
class World:
    client: Client
    slack: FakeOidc
    microsoft: FakeOidc


@pytest.fixture
async def world(db_url: str, clock: FixedClock) -> AsyncIterator[World]:
    async with (
        FakeOidc() as slack,
        FakeOidc(issuer_override="") as microsoft,
    ):
        microsoft.issuer_override = microsoft.base + "/{tenantid}/v2.0"
        providers = (
            slack_provider(slack.client_id, slack.client_secret, slack.discovery_url),
            microsoft_provider(
                microsoft.client_id, microsoft.client_secret, microsoft.discovery_url
            ),
        )
        settings = settings_for(db_url, demo=False, sign_in=providers)
        async with serving(settings, clock) as client:
            yield World(client, slack, microsoft)


async def begin(client: Client, provider: str, nxt: str = "/me") -> str:
    """Start a sign-in; the provider's authorization URL."""
    resp = await client.get(f"/login/{provider}", params={"next": nxt}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return resp.headers["Location"]


async def at_provider(url: str) -> str:
    """The person consents at the provider: the URL it sends the browser back to."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, allow_redirects=False) as resp,
    ):
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def come_back(client: Client, back: str) -> ClientResponse:
    parts = urlsplit(back)
    return await client.get(f"{parts.path}?{parts.query}", allow_redirects=False)


async def sign_in(client: Client, provider: str = "slack", nxt: str = "/me") -> ClientResponse:
    return await come_back(client, await at_provider(await begin(client, provider, nxt)))


async def sessions(client: Client) -> list[WebSession]:
    async with server_of(client).rt.db.transaction() as s:
        return list((await s.scalars(select(WebSession))).all())


async def refused_with(resp: ClientResponse, reason: str, status: int) -> None:
    text = await resp.text()
    assert resp.status == status, text
    assert f'data-reason="{reason}"' in text
    assert "You are not signed in" in text
    assert COOKIE not in resp.cookies


async def test_slack_sign_in_maps_the_account_by_its_workspace_user_id(world: World) -> None:
    world.slack.account = ALICE_SLACK
    resp = await sign_in(world.client, "slack", nxt="/me")
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/me"
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    [row] = await sessions(world.client)
    assert row.principal == "person:alice" and row.method == "oidc:slack"


async def test_authorization_request_uses_pkce_state_and_nonce(world: World) -> None:
    url = await begin(world.client, "slack")
    q = parse_qs(urlsplit(url).query)
    assert q["response_type"] == ["code"] and q["code_challenge_method"] == ["S256"]
    assert q["scope"] == ["openid email profile"]
    assert len(q["state"][0]) >= 40 and len(q["nonce"][0]) >= 40
    assert q["redirect_uri"][0].endswith("/login/slack/callback")


async def test_microsoft_sign_in_links_a_verified_email_within_a_declared_tenant(
    world: World,
) -> None:
    world.microsoft.account = {
        "sub": "pairwise-sub",
        "oid": "00000000-0000-0000-0000-00000000a11c",
        "tid": TENANT,
        "email": "henry.lindqvist@state.example",  # Henry has no Teams identity yet
        "xms_edov": True,
    }
    resp = await sign_in(world.client, "microsoft")
    assert resp.status == 303, await resp.text()
    [row] = await sessions(world.client)
    assert row.principal == "person:henry" and row.method == "oidc:microsoft"
    async with server_of(world.client).rt.db.transaction() as s:
        linked = (await s.scalars(select(PlatformId).where(PlatformId.key == "teams_aad"))).all()
    assert [(r.owner_id, r.scope, r.value) for r in linked] == [
        ("henry", TENANT, "00000000-0000-0000-0000-00000000a11c")
    ]
    # the second time, the linked object id alone is enough (no email needed)
    world.microsoft.account = {k: v for k, v in world.microsoft.account.items() if k != "email"}
    assert (await sign_in(world.client, "microsoft")).status == 303


async def test_an_unverified_email_links_nobody(world: World) -> None:
    world.microsoft.account = {
        "sub": "s",
        "oid": "00000000-0000-0000-0000-0000000000b0",
        "tid": TENANT,
        "email": "henry.lindqvist@state.example",  # Entra: not vouched for
    }
    await refused_with(await sign_in(world.client, "microsoft"), "nobody", 403)
    assert await sessions(world.client) == []


@pytest.mark.parametrize(
    ("tweak", "why"),
    [
        ({"aud": "someone-elses-app"}, "wrong audience"),
        ({"iss": "https://evil.example"}, "wrong issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "expired"),
        ({"nonce": "not-the-one-we-sent"}, "another sign-in's nonce"),
    ],
)
async def test_an_id_token_that_fails_its_checks_signs_nobody_in(
    world: World, tweak: dict[str, Any], why: str
) -> None:
    world.slack.account = ALICE_SLACK
    world.slack.tweak = tweak
    await refused_with(await sign_in(world.client, "slack"), "token", 403)
    assert await sessions(world.client) == [], why


async def test_a_replayed_state_is_refused(world: World) -> None:
    world.slack.account = ALICE_SLACK
    back = await at_provider(await begin(world.client, "slack"))
    assert (await come_back(world.client, back)).status == 303
    # the same answer again (a replay, or the back button): the state was used once
    await refused_with(await come_back(world.client, back), "state", 400)
    assert len(await sessions(world.client)) == 1


async def test_a_state_older_than_ten_minutes_is_refused(world: World, clock: FixedClock) -> None:
    world.slack.account = ALICE_SLACK
    back = await at_provider(await begin(world.client, "slack"))
    clock.advance(minutes=11)
    await refused_with(await come_back(world.client, back), "state", 400)
    async with server_of(world.client).rt.db.transaction() as s:
        assert (await s.scalars(select(SignInState))).all() == []  # used up, even so


async def test_the_answer_may_come_back_to_another_process(
    world: World, db_url: str, clock: FixedClock
) -> None:
    """Two Looplink processes on one database: the sign-in started on one finishes on the
    other (the pending sign-in is in the database, not in a process)."""
    world.slack.account = ALICE_SLACK
    back = urlsplit(await at_provider(await begin(world.client, "slack")))
    cookies = {c.key: c.value for c in world.client.session.cookie_jar}
    settings = server_of(world.client).settings
    async with serving(settings, clock) as other:
        other.session.cookie_jar.update_cookies(cookies)
        # behind one public address: the same Host, so the same redirect URI
        resp = await other.get(
            f"{back.path}?{back.query}", allow_redirects=False, headers={"Host": back.netloc}
        )
        assert resp.status == 303, await resp.text()


async def test_a_state_from_another_browser_is_refused(world: World, db_url: str) -> None:
    world.slack.account = ALICE_SLACK
    back = await at_provider(await begin(world.client, "slack"))
    world.client.session.cookie_jar.clear()  # another browser: without the binding cookie
    await refused_with(await come_back(world.client, back), "state", 400)


async def test_a_replayed_id_token_carries_another_nonce(world: World) -> None:
    """An ID token captured from one sign-in, served again for the next: its nonce is the old
    sign-in's, so the new one refuses it."""
    world.slack.account = ALICE_SLACK
    assert (await sign_in(world.client, "slack")).status == 303
    world.slack.replay = world.slack.issued[-1]
    await refused_with(await sign_in(world.client, "slack"), "token", 403)


async def test_an_account_that_is_nobody_is_refused(world: World) -> None:
    world.slack.account = {
        **ALICE_SLACK,
        "https://slack.com/user_id": "U0STRANGER",
        "sub": "U0STRANGER",
        "email": "stranger@elsewhere.example",
    }
    await refused_with(await sign_in(world.client, "slack"), "nobody", 403)
    assert await sessions(world.client) == []


async def test_an_account_from_an_undeclared_workspace_is_refused(world: World) -> None:
    """Alice's own user id and email, but from a workspace the org file does not declare."""
    world.slack.account = {**ALICE_SLACK, "https://slack.com/team_id": "T0ELSEWHERE"}
    await refused_with(await sign_in(world.client, "slack"), "workspace", 403)
    world.microsoft.account = {
        "sub": "x",
        "oid": "o",
        "tid": "11111111-2222-3333-4444-555555555555",
    }
    await refused_with(await sign_in(world.client, "microsoft"), "workspace", 403)
    assert await sessions(world.client) == []


async def test_failed_sign_ins_are_throttled_per_client(world: World) -> None:
    world.slack.account = ALICE_SLACK
    world.slack.tweak = {"aud": "someone-else"}
    for _ in range(5):
        await refused_with(await sign_in(world.client, "slack"), "token", 403)
    world.slack.tweak = {}
    before = world.slack.token_requests
    locked = await world.client.get("/login/slack/callback?state=x&code=y", allow_redirects=False)
    assert locked.status == 429 and "Retry-After" in locked.headers
    assert "Too many failed sign-ins" in await locked.text()
    start = await world.client.get("/login/slack", allow_redirects=False)
    assert start.status == 429
    assert world.slack.token_requests == before  # nothing reached the provider meanwhile


async def test_a_cancelled_sign_in_says_so(world: World) -> None:
    url = await begin(world.client, "slack")
    state = parse_qs(urlsplit(url).query)["state"][0]
    resp = await world.client.get(
        "/login/slack/callback", params={"error": "access_denied", "state": state}
    )
    await refused_with(resp, "cancelled", 400)


async def test_the_login_page_offers_each_provider_and_no_token_by_default(world: World) -> None:
    resp = await world.client.get("/login")
    text = await resp.text()
    assert resp.status == 200
    assert "Sign in with Slack" in text and "Sign in with Microsoft" in text
    assert "admin token" not in text.lower()
    # the token is a bootstrap only: without LOOPLINK_ADMIN_TOKEN, a token sign-in is refused
    post = await world.client.post("/login", data={"token": "x" * 40})
    assert post.status == 403


async def test_an_unknown_provider_is_not_found(world: World) -> None:
    assert (await world.client.get("/login/github", allow_redirects=False)).status == 404


def test_providers_from_env() -> None:
    assert providers_from_env({}) == ()
    env = {
        "LOOPLINK_SIGNIN_SLACK_CLIENT_ID": "1.2",
        "LOOPLINK_SIGNIN_SLACK_CLIENT_SECRET": "s",
        "LOOPLINK_SIGNIN_MICROSOFT_CLIENT_ID": "app",
        "LOOPLINK_SIGNIN_MICROSOFT_CLIENT_SECRET": "t",
    }
    slack, microsoft = providers_from_env(env)
    assert isinstance(slack, Provider) and slack.discovery_url.startswith("https://slack.com/")
    assert microsoft.discovery_url.startswith("https://login.microsoftonline.com/organizations/")
    with pytest.raises(SettingsError, match="LOOPLINK_SIGNIN_SLACK_CLIENT_SECRET"):
        providers_from_env({"LOOPLINK_SIGNIN_SLACK_CLIENT_ID": "1.2"})
    with pytest.raises(SettingsError, match="https"):
        providers_from_env({**env, "LOOPLINK_SIGNIN_SLACK_DISCOVERY_URL": "http://evil.example/"})
    assert "s" not in repr(slack).split("client_secret")[-1][:5]
