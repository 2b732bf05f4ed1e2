"""Many Slack workspaces in one loop (issue 13), over real HTTP: Bolt's OAuth flow installs two
workspaces (the fake Slack serves both, each with its own token, people and oauth.v2.access),
people are in the org file by email only and linked on first contact, every call carries the
token of the workspace it goes to, a workspace that never installed is refused, and an
uninstall mid-loop stops deliveries there and nowhere else."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.db.models import AppInstallation, Item, Outbox, PlatformId, ProcessedDelivery
from bot.secrets import SecretBox
from bot.settings import SettingsError
from looplink.cli import main
from looplink.platforms import settings_from_env
from looplink.server import build_server
from tests.fakes.slack_api import TEAM_ID, FakeSlack, SlackUser, Workspace, block_text
from tests.slack_harness import (
    BARRIER,
    SECRET,
    SECRET_KEY,
    Slack,
    decide,
    install,
    oauth_settings,
    report_barrier,
)

ORG = """\
organization: Two workspaces
timezone: America/Chicago
workspaces:
  - {id: lincoln-schools, slack: T0RIVER}
  - {id: district-office, slack: T0DISTRICT}
people:
  - {id: alice, name: Alice Reyes, email: alice@lincoln.example}
  - {id: bob, name: Bob Tanaka, email: bob@lincoln.example}
  - {id: carol, name: Carol Jensen, email: carol@lincoln.example}
  - {id: dana, name: Dana Whitfield, email: dana@district.example}
teams:
  - id: district
    name: District Implementation Team
    level: district
    channels: {slack: {district-office: C0DISTRICT}}
    members:
      - {person: dana, role: lead}
      - {person: bob, role: liaison}
  - id: lincoln
    name: Lincoln Elementary Implementation Team
    parent: district
    channels: {slack: {lincoln-schools: C0LINCOLN}}
    members:
      - {person: alice, role: lead}
      - {person: bob, role: liaison}
      - {person: carol}
"""
RESOLUTION = "The district adds screener exports to the data contract from January."


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


def workspaces(fake: FakeSlack) -> tuple[Workspace, Workspace]:
    a = fake.workspaces[fake.token]  # T0RIVER: the schools' workspace
    a.user("U0ALICE", "alice@lincoln.example").user("U0CAROL", "Carol@Lincoln.example")
    a.user("U0BOB", "bob@lincoln.example")
    b = fake.add_workspace("T0DISTRICT", "District")
    b.user("U0DANA", "dana@district.example").user("U0EVE", "carol@lincoln.example")
    return a, b


@pytest.fixture
async def slack(
    db_url: str, clock: FixedClock, fake: FakeSlack, tmp_path: Path
) -> AsyncIterator[Slack]:
    org = tmp_path / "org.yaml"
    org.write_text(ORG)
    server = await build_server(oauth_settings(db_url, fake, org), clock=clock)
    server.rt.dispatcher.stop()
    platform = next(p for p in server.platforms if isinstance(p, SlackPlatform))
    platform._sender.min_interval = 0
    async with TestClient(TestServer(server.app)) as client:
        yield Slack(fake, SlackUser(client, SECRET, fake), server, platform, clock)


def tokens_by_team(fake: FakeSlack) -> dict[str, str]:
    return {ws.team_id: token for token, ws in fake.workspaces.items()}


async def test_two_workspaces_install_through_the_oauth_redirect(slack: Slack) -> None:
    a, b = workspaces(slack.fake)
    for ws in (a, b):
        said = await install(slack.user.client, slack.fake, ws)
        assert said.startswith("200 ") and f"installed in {ws.name}" in said
    async with slack.server.rt.db.transaction() as s:
        rows = (await s.scalars(select(AppInstallation).order_by(AppInstallation.scope))).all()
    assert [(r.scope, r.name, r.revoked_at) for r in rows] == [
        ("T0DISTRICT", "District", None),
        ("T0RIVER", "Riverside", None),
    ]
    box = SecretBox((SECRET_KEY,))
    for r, ws in zip(rows, (b, a), strict=True):
        assert ws.token not in r.secret  # encrypted at rest
        assert box.open(r.secret)["bot_token"] == ws.token
    # a state is good once, and a forged or replayed one installs nothing
    start = await slack.user.client.get("/slack/install", allow_redirects=False)
    state = start.headers["Location"].split("state=")[1].split("&")[0]
    forged = await slack.user.client.get(
        "/slack/oauth_redirect",
        params={"code": slack.fake.grant(b), "state": "forged"},
        headers={"Cookie": "slack-app-oauth-state=forged"},
    )
    assert forged.status in (400, 401) and "not installed" in await forged.text()
    ok = {"code": slack.fake.grant(b), "state": state}
    cookie = {"Cookie": f"slack-app-oauth-state={state}"}
    assert (
        await slack.user.client.get("/slack/oauth_redirect", params=ok, headers=cookie)
    ).status == 200
    again = await slack.user.client.get("/slack/oauth_redirect", params=ok, headers=cookie)
    assert again.status == 401


async def test_a_loop_across_two_workspaces_with_each_workspaces_token(slack: Slack) -> None:
    fake = slack.fake
    a, b = workspaces(fake)
    for ws in (a, b):
        await install(slack.user.client, fake, ws)
    in_b = slack.user.in_workspace("T0DISTRICT")

    # Carol is in the org file by email only: her first command links her (users.info, A)
    iid = await report_barrier(slack, {**BARRIER, "anonymous": False})
    await slack.settle()
    [lookup] = fake.to("users.info", user="U0CAROL")
    assert lookup.team == "T0RIVER"
    # Alice escalates in A; the card reaches the district's channel in B
    await decide(slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "Needs the district contract")
    await slack.settle()
    card = slack.message("C0DISTRICT", 0)
    # Dana resolves it from B
    status, _ = await in_b.click("U0DANA", "C0DISTRICT", card, "decide:resolve")
    assert status == 200
    await slack.settle()
    status, body = await in_b.submit("U0DANA", slack.last_view(), {"note": RESOLUTION})
    assert status == 200 and json.loads(body)["response_action"] == "update"
    await slack.settle()

    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        linked = {
            (r.owner_id, r.scope, r.value, r.origin)
            for r in (await s.scalars(select(PlatformId).where(PlatformId.owner_kind == "person")))
        }
    assert item is not None and (item.state, item.closed_by_team_id) == ("resolved", "district")
    assert item.reporter_told_at is not None
    assert linked == {
        ("carol", "T0RIVER", "U0CAROL", "email"),
        ("alice", "T0RIVER", "U0ALICE", "email"),
        ("dana", "T0DISTRICT", "U0DANA", "email"),
    }
    # the answer went down to both channels and to Carol, each through its own workspace
    assert RESOLUTION in block_text(slack.message("C0LINCOLN")["blocks"])
    dm = fake.dms["U0CAROL"]
    assert RESOLUTION in block_text(slack.message(dm)["blocks"])
    # every call carried the token of the workspace it went to
    team_of_channel = {"C0LINCOLN": "T0RIVER", "C0DISTRICT": "T0DISTRICT", dm: "T0RIVER"}
    team_of_user = {"U0CAROL": "T0RIVER", "U0ALICE": "T0RIVER", "U0DANA": "T0DISTRICT"}
    checked = 0
    for call in fake.calls:
        if call.method in ("chat.postMessage", "chat.update"):
            assert call.team == team_of_channel[call.args["channel"]], call
        elif call.method in ("conversations.open", "users.info"):
            assert call.team == team_of_user[call.args.get("users") or call.args["user"]], call
        elif call.method.startswith("views."):
            assert (
                call.team in ("T0RIVER", "T0DISTRICT")
                and call.token == tokens_by_team(fake)[call.team]
            )
        else:
            continue
        checked += 1
    assert checked >= 10
    assert {c.team for c in fake.calls if c.method == "views.open"} == {"T0RIVER", "T0DISTRICT"}


async def test_a_workspace_that_never_installed_is_refused(slack: Slack) -> None:
    a, b = workspaces(slack.fake)
    await install(slack.user.client, slack.fake, a)  # only A
    before = len(slack.fake.calls)
    # B is declared in the org file, but never installed Looplink
    status, body = await slack.user.in_workspace("T0DISTRICT").command(
        "U0DANA", "/looplink", "status", channel="C0DISTRICT"
    )
    assert (status, body) == (200, "")  # Bolt answers on the command's response_url:
    [said] = slack.fake.to("response_url")
    assert "not installed in this workspace" in said.args["text"]
    status, body = await slack.user.in_workspace("T0NEVER").dm("U0DANA", "mine")
    assert status == 200 and "not installed in this workspace" in body
    await slack.settle()
    assert [c for c in slack.fake.calls[before:] if c.method != "response_url"] == []
    assert await slack.count(ProcessedDelivery) == 0 and await slack.count(Item) == 0


async def test_a_stranger_workspace_with_an_installation_and_a_members_email(
    slack: Slack,
) -> None:
    """A workspace the organisation did not declare installs Looplink (the install link is
    public); its user with Carol's email is a stranger there: no lookup, no link, nothing seen."""
    a, _b = workspaces(slack.fake)
    await install(slack.user.client, slack.fake, a)
    other = slack.fake.add_workspace("T0ELSEWHERE", "Elsewhere")
    other.user("U0MALLORY", "carol@lincoln.example")
    await install(slack.user.client, slack.fake, other)
    iid = await report_barrier(slack, {**BARRIER, "anonymous": True})
    status, body = await slack.user.in_workspace("T0ELSEWHERE").command(
        "U0MALLORY", "/looplink", "mine", channel="C0ELSE"
    )
    assert "I don't know you yet" in json.loads(body)["text"] and f"#{iid}" not in body
    assert slack.fake.to("users.info", user="U0MALLORY") == []


async def test_uninstall_mid_loop_stops_that_workspace_only(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    fake = slack.fake
    a, b = workspaces(fake)
    for ws in (a, b):
        await install(slack.user.client, fake, ws)
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()
    # the district's workspace removes Looplink
    fake.revoke(b)
    with caplog.at_level(logging.WARNING, "looplink.slack"):
        status, _ = await slack.user.in_workspace("T0DISTRICT").event(
            {"type": "app_uninstalled", "event_ts": "1795000000.000100"}
        )
    assert status == 200
    assert any(
        "app_uninstalled for T0DISTRICT" in r.getMessage()
        and "deliveries to it stop" in r.getMessage()
        for r in caplog.records
    )
    # Alice escalates: Lincoln's card is updated (A), the district's card cannot go (B)
    fake.clear()
    await decide(slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "Needs the district")
    await slack.settle()
    assert fake.to("chat.update", channel="C0LINCOLN")
    assert [c for c in fake.calls if c.team == "T0DISTRICT"] == []
    async with slack.server.rt.db.transaction() as s:
        rows = (await s.scalars(select(Outbox).order_by(Outbox.id))).all()
        installed = await s.get(AppInstallation, ("slack", "T0DISTRICT"))
    to_b = [r for r in rows if r.dest_kind == "team" and r.dest_id == "district"]
    assert to_b and all(r.status == "parked" for r in to_b)  # held back, not lost
    assert "was removed from Slack workspace T0DISTRICT (app_uninstalled" in to_b[0].last_error
    assert "install Looplink in Slack workspace T0DISTRICT again" in to_b[0].fix
    assert all(r.status == "sent" for r in rows if r not in to_b)
    assert installed is not None and installed.revoked_reason == "app_uninstalled"
    assert "bot_token" not in SecretBox((SECRET_KEY,)).open(installed.secret)
    # installing again resumes it: what waited reaches the district, with B's token
    await install(slack.user.client, fake, b)
    fake.clear()
    slack.clock.advance(seconds=3600)
    await slack.settle()
    posted = fake.to("chat.postMessage", channel="C0DISTRICT")
    assert posted and all(c.team == "T0DISTRICT" for c in posted)
    assert any(f"#{iid}" in c.args["text"] for c in posted)


def test_oauth_mode_needs_a_secret_key_and_one_mode() -> None:
    env = {
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "s",
        "SLACK_SIGNING_SECRET": "x",
    }
    with pytest.raises(SettingsError, match="encrypted with LOOPLINK_SECRET_KEY, which is not set"):
        settings_from_env(env)
    with pytest.raises(SettingsError, match="not URL-safe base64|of 3 bytes, not 32"):
        settings_from_env({**env, "LOOPLINK_SECRET_KEY": "abc"})
    with pytest.raises(SettingsError, match="Slack is set up twice"):
        settings_from_env({**env, "SLACK_BOT_TOKEN": "xoxb-1", "LOOPLINK_SECRET_KEY": SECRET_KEY})
    settings = settings_from_env({**env, "LOOPLINK_SECRET_KEY": SECRET_KEY})
    assert settings.secret_keys == (SECRET_KEY,)


async def test_key_rotation(
    db_url: str,
    clock: FixedClock,
    fake: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new key first, the old one after it; `looplink secrets rotate`; the old key can go."""
    org = tmp_path / "org.yaml"
    org.write_text(ORG)
    server = await build_server(oauth_settings(db_url, fake, org), clock=clock)
    async with TestClient(TestServer(server.app)) as client:
        a, _b = workspaces(fake)
        await install(client, fake, a)
    new_key = "bmV3LWtleS1mb3ItbG9vcGxpbmstMzItYnl0ZXMhISE="
    monkeypatch.setenv("LOOPLINK_DATABASE_URL", db_url)
    monkeypatch.setenv("LOOPLINK_SECRET_KEY", f"{new_key},{SECRET_KEY}")
    code = await asyncio.to_thread(main, ["secrets", "rotate"])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert "Re-encrypted 1 stored secret" in said.out
    async with server.rt.db.transaction() as s:
        row = await s.get(AppInstallation, ("slack", TEAM_ID))
    assert row is not None
    assert SecretBox((new_key,)).open(row.secret)["bot_token"] == a.token
    await server.rt.db.close()
