"""The Slack test harness: the real server app with Slack enabled, signed Slack-shaped
requests (SlackUser) and the fake Slack Web API, plus helpers for the common steps.

`running_slack` starts `looplink.server.build_server` with SLACK_API_URL pointing at the fake and
examples/org.yaml applied; the outbox is driven by hand (`Slack.settle`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from yarl import URL

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.db.models import Item
from bot.settings import Settings
from looplink.server import Server, build_server
from tests.client import Client
from tests.conftest import EXAMPLE_ORG
from tests.fakes.slack_api import FakeSlack, SlackUser, Workspace
from tests.settings_support import make_settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

BARRIER = {
    "summary": "The reading screener data arrives three weeks after testing",
    "details": "Every benchmark window; all grades",
    "affected": ["students", "staff"],
    "subgroup": "English learners",
    "driver": "data_systems",
    "stage": "initial_implementation",
    "tried": "Asked the office to export earlier",
    "suggestion": "Give coaches direct access to the vendor dashboard",
    "urgency": "high",
}


@dataclass
class Slack:
    fake: FakeSlack
    user: SlackUser
    server: Server
    platform: SlackPlatform
    clock: FixedClock

    async def settle(self) -> int:
        """Finish the answers shown after acks, then deliver everything due in the outbox."""
        await self.platform.idle()
        return await self.server.rt.dispatcher.run_once()

    def last_view(self) -> dict[str, Any]:
        """The most recently opened modal, as Slack stored it (with its id and hash)."""
        assert self.fake.modals, f"no modal opened; calls: {self.fake.methods()}"
        return self.fake.views[self.fake.modals[-1]]

    def posts(self, channel: str) -> list[dict[str, Any]]:
        return [c.args for c in self.fake.to("chat.postMessage", channel=channel)]

    def message(self, channel: str, index: int = -1) -> dict[str, Any]:
        """A message as it now stands in a channel (after any chat.update)."""
        in_channel = [m for (ch, _ts), m in self.fake.messages.items() if ch == channel]
        assert in_channel, f"nothing posted to {channel}"
        return in_channel[index]

    async def count(self, model: Any) -> int:
        async with self.server.rt.db.transaction() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def slack_settings(
    db_url: str, fake: FakeSlack, secret: str = SECRET, **overrides: Any
) -> Settings:
    """Looplink with Slack enabled against the fake Web API, the demo org, no scheduler."""
    return make_settings(
        database_url=db_url,
        org_file=EXAMPLE_ORG,
        slack_bot_token=fake.token,
        slack_signing_secret=secret,
        slack_api_url=fake.api_url,
        run_scheduler=False,
        **overrides,
    )


@asynccontextmanager
async def running_slack(
    db_url: str, clock: FixedClock, fake: FakeSlack, **overrides: Any
) -> AsyncIterator[Slack]:
    server = await build_server(slack_settings(db_url, fake, **overrides), clock=clock)
    server.rt.dispatcher.stop()  # the tests drive the outbox themselves
    platform = next(p for p in server.platforms if isinstance(p, SlackPlatform))
    platform._sender.min_interval = 0  # pacing has its own test
    async with TestClient(TestServer(server.app)) as client:
        yield Slack(fake, SlackUser(client, SECRET, fake), server, platform, clock)


async def report_barrier(slack: Slack, values: dict[str, Any], user: str = "U0CAROL") -> int:
    """Carol runs /barrier, fills the modal and submits it; returns the new item id."""
    status, body = await slack.user.command(user, "/barrier", "screener data late")
    assert status == 200 and body == "", body
    await slack.settle()
    view = slack.last_view()
    status, body = await slack.user.submit(user, view, values)
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    async with slack.server.rt.db.transaction() as s:
        item = (await s.scalars(select(Item).order_by(Item.id.desc()))).first()
    assert item is not None
    return item.id


async def decide(slack: Slack, user: str, channel: str, action: str, note: str) -> dict[str, Any]:
    """A lead presses a decision button on the card in `channel` and fills in the note."""
    card = slack.message(channel, 0)
    status, body = await slack.user.click(user, channel, card, action)
    assert (status, body) == (200, "")
    await slack.settle()
    view = slack.last_view()
    assert view["blocks"][0]["block_id"] == "note"
    status, body = await slack.user.submit(user, view, {"note": note})
    assert status == 200
    answer: dict[str, Any] = json.loads(body)
    return answer


# ---- many workspaces: OAuth installs ----------------------------------------------------

SECRET_KEY = "bG9vcGxpbmstdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="  # 32 bytes, URL-safe base64


def oauth_settings(db_url: str, fake: FakeSlack, org_file: Any, **overrides: Any) -> Settings:
    """Looplink with Slack in OAuth mode against the fake (its consent page and Web API)."""
    return make_settings(
        database_url=db_url,
        org_file=org_file,
        slack_client_id=fake.client_id,
        slack_client_secret=fake.client_secret,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        slack_authorize_url=f"{fake.url}/oauth/v2/authorize",
        secret_keys=(SECRET_KEY,),
        run_scheduler=False,
        **overrides,
    )


async def install(client: Client, fake: FakeSlack, ws: Workspace) -> str:
    """A workspace admin installs Looplink: GET /slack/install (to Slack's consent page, with a
    state cookie), approves there, and Slack sends them to GET /slack/oauth_redirect."""
    start = await client.get("/slack/install", allow_redirects=False)
    assert start.status == 302, await start.text()
    consent = URL(start.headers["Location"])
    assert consent.query["client_id"] == fake.client_id
    assert "users:read.email" in consent.query["scope"].split(",")
    state = consent.query["state"]
    assert f"slack-app-oauth-state={state}" in start.headers.getall("Set-Cookie")[0]
    done = await client.get(
        "/slack/oauth_redirect",
        params={"code": fake.grant(ws), "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
        allow_redirects=False,
    )
    return f"{done.status} {await done.text()}"
