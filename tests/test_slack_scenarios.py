"""The loop in Slack: the real server app, signed Slack-shaped requests, a fake Slack Web API.

Each test starts `bot.server.build_server` with Slack enabled (SLACK_API_URL pointing at the
fake), applies examples/org.yaml at start, and drives it as Slack would. The outbox is driven
by hand (`settle`), so every Web API call can be asserted in order.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.db.models import Item
from bot.server import Server, build_server
from bot.settings import Settings
from tests.conftest import EXAMPLE_ORG
from tests.fakes.slack_api import FakeSlack, SlackUser, block_text, buttons

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
        opened = [c for c in self.fake.calls if c.method in ("views.open", "views.push")]
        assert opened, f"no modal opened; calls: {self.fake.methods()}"
        view_id = self.fake.views
        # the most recently opened modal, as Slack stored it (with id and hash)
        return list(view_id.values())[-1] if view_id else opened[-1].args["view"]

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


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    settings = Settings(
        database_url=db_url,
        org_file=EXAMPLE_ORG,
        slack_bot_token=fake.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        run_scheduler=False,
    )
    server = await build_server(settings, clock=clock)
    server.rt.dispatcher.stop()  # the tests drive the outbox themselves
    platform = server.platforms[0]
    assert isinstance(platform, SlackPlatform)
    platform._sender.min_interval = 0  # pacing has its own test
    async with TestClient(TestServer(server.app)) as client:
        yield Slack(fake, SlackUser(client, SECRET, fake), server, platform, clock)


async def report_barrier(slack: Slack, values: dict[str, Any], user: str = "U0CAROL") -> int:
    """Carol runs /barrier, fills the modal and submits it; returns the new item id."""
    status, body = await slack.user.command(user, "/barrier", "screener data late")
    assert status == 200 and body == ""
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


async def test_slash_command_opens_the_report_modal_prefilled(slack: Slack) -> None:
    status, body = await slack.user.command("U0CAROL", "/barrier", "screener data late")
    assert (status, body) == (200, "")
    await slack.settle()
    opened = slack.fake.to("views.open")
    assert len(opened) == 1
    view = opened[0].args["view"]
    assert opened[0].args["trigger_id"].startswith("13345224609.")
    assert view["type"] == "modal" and view["title"]["text"] == "Report a barrier"
    assert json.loads(view["private_metadata"]) == {"form_id": "barrier", "context": {}}
    summary = view["blocks"][0]
    assert summary["block_id"] == "summary" and summary["optional"] is False
    assert summary["element"]["initial_value"] == "screener data late"
    assert [b["block_id"] for b in view["blocks"]] == [
        "summary",
        "details",
        "affected",
        "subgroup",
        "driver",
        "stage",
        "tried",
        "suggestion",
        "urgency",
        "anonymous",
    ]
    assert slack.fake.to("views.open")[0].token == slack.fake.token


async def test_submitting_the_modal_posts_the_card_to_the_team_channel(slack: Slack) -> None:
    iid = await report_barrier(slack, BARRIER)
    assert slack.fake.to("chat.postMessage") == []  # nothing is posted before the outbox runs
    assert await slack.settle() == 1
    [post] = slack.posts("C0LINCOLN")
    assert post["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": f"Barrier #{iid}: The reading screener data arrives three weeks after testing",
            "emoji": True,
        },
    }
    actions = [b["action_id"] for b in buttons(post["blocks"])]
    assert actions == [
        "decide:acknowledge",
        "decide:resolve",
        "decide:escalate",
        "decide:ask_info",
        "decide:decline",
    ]
    assert {b["value"] for b in buttons(post["blocks"])} == {str(iid)}
    text = block_text(post["blocks"])
    assert "*Reported by*\nCarol Jensen" in text and "English learners" in text
    assert post["text"].startswith(f"Barrier #{iid}")
