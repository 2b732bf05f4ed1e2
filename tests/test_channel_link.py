"""A channel becomes a team's channel from inside it (issue 13): an admin types
`/looplink link TEAM` in Slack or `@Looplink link TEAM` in Teams; the bot confirms, audits it
and delivers the team's messages there; anyone else is refused politely.

Real Bolt over signed HTTP against the fake Slack Web API; real botbuilder at /api/messages
against the fake Bot Connector; the demo org (examples/org.yaml, `admins: [kaya]`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import AdminEvent, ConversationRef, PlatformId
from bot.messages import Message
from bot.org_apply import apply_org
from bot.orgfile import load_org
from bot.outbox import enqueue
from looplink.platforms import infos
from tests.conftest import EXAMPLE_ORG
from tests.fakes.slack_api import FakeSlack, block_text
from tests.fakes.teams_client import GRACE, TENANT, user
from tests.slack_harness import Slack, running_slack
from tests.teams_world import teams_world


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


async def _say(slack: Slack, who: str, channel: str, text: str) -> str:
    status, body = await slack.user.command(who, "/looplink", text, channel=channel)
    assert status == 200, body
    return block_text(json.loads(body)["blocks"]) if body else ""


async def _channels(slack: Slack, team: str) -> list[tuple[str, str, str]]:
    async with slack.server.rt.db.transaction() as s:
        rows = await s.scalars(
            select(PlatformId).where(PlatformId.owner_kind == "team", PlatformId.owner_id == team)
        )
        return sorted((r.platform, r.value, r.origin) for r in rows)


async def test_an_admin_links_a_slack_channel_from_inside_it(slack: Slack) -> None:
    said = await _say(slack, "U0ALICE", "C0NEW", "link oakgrove")  # a lead, not an admin
    assert "only Looplink's admins can link a channel" in said
    said = await _say(slack, "U0KAYA", "C0OAK", "link")
    assert "Say which team this channel is for" in said
    said = await _say(slack, "U0KAYA", "C0OAK", "link nowhere")
    assert 'I don\'t know a team called "nowhere"' in said
    said = await _say(slack, "U0KAYA", "C0LINCOLN", "link oakgrove")
    assert "already the channel of *Lincoln Elementary Implementation Team*" in said
    said = await _say(slack, "U0KAYA", "C0NEW", "link lincoln")
    assert "The org file gives *Lincoln Elementary Implementation Team* its Slack" in said
    assert await _channels(slack, "oakgrove") == [("teams", "19:oakgrove@thread.tacv2", "org")]

    said = await _say(slack, "U0KAYA", "C0OAK", "link oakgrove")
    assert "this Slack channel is now the channel of *Oak Grove Elementary" in said
    said = await _say(slack, "U0KAYA", "C0OAK", "link Oak Grove Elementary Implementation Team")
    assert "already the channel of *Oak Grove" in said
    said = await _say(slack, "U0KAYA", "C0OAK2", "link oakgrove")  # moved: one per platform
    assert "(It was C0OAK before.)" in said
    assert await _channels(slack, "oakgrove") == [
        ("slack", "C0OAK2", "link"),
        ("teams", "19:oakgrove@thread.tacv2", "org"),
    ]
    async with slack.server.rt.db.transaction() as s:
        events = (await s.scalars(select(AdminEvent).order_by(AdminEvent.id))).all()
        assert [
            (e.actor_id, e.action, e.team_id, e.platform, e.scope, e.value, e.note) for e in events
        ] == [
            ("kaya", "link_channel", "oakgrove", "slack", "T0RIVER", "C0OAK", ""),
            ("kaya", "link_channel", "oakgrove", "slack", "T0RIVER", "C0OAK2", "was C0OAK"),
        ]
        # applying the org file again keeps what an admin linked
        await apply_org(s, load_org(EXAMPLE_ORG, infos()))
    assert ("slack", "C0OAK2", "link") in await _channels(slack, "oakgrove")

    # the team's messages now reach that channel, with that workspace's token
    async with slack.server.rt.db.transaction() as s:
        rt = slack.server.rt
        await enqueue(s, rt.fanout, rt.clock.now(), "team", "oakgrove", Message(text="Agenda"))
    slack.fake.clear()
    await slack.settle()
    [posted] = slack.fake.to("chat.postMessage", channel="C0OAK2")
    assert posted.team == "T0RIVER"
    # a direct message is not a channel
    status, body = await slack.user.dm("U0KAYA", "link oakgrove")
    await slack.settle()
    assert status == 200
    dm = slack.fake.dms["U0KAYA"]
    assert "inside the channel you want to link" in block_text(slack.message(dm)["blocks"])


async def test_an_admin_links_a_teams_channel_with_a_mention(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(EXAMPLE_ORG.read_text().replace("admins: [kaya]", "admins: [kaya, grace]"))
    channel = "19:riverside-new@thread.tacv2"
    alice = user("29:alice", "Alice Reyes")
    async with teams_world(db_url, clock, org_file=org) as w:

        async def answer(person: str) -> str:  # the bot answers privately, in a personal chat
            async with w.server.rt.db.transaction() as s:
                ref = await s.get(ConversationRef, ("person", person, "teams"))
            assert ref is not None
            return w.connector.to(ref.ref["conversation"]["id"])[-1].text()

        r = await w.teams.mention(alice, channel, "link riverside")
        assert r.status == 200
        assert "only Looplink's admins" in await answer("alice")
        r = await w.teams.mention(GRACE, channel, "link riverside")
        assert r.status == 200
        said = await answer("grace")
        assert "this Microsoft Teams channel is now the channel of *Riverside" in said.replace(
            "**", "*"
        )
        async with w.server.rt.db.transaction() as s:
            row = await s.get(PlatformId, ("team", "riverside", "teams", TENANT))
            assert row is not None and (row.value, row.origin) == (channel, "link")
            rt = w.server.rt
            await enqueue(s, rt.fanout, rt.clock.now(), "team", "riverside", Message(text="Agenda"))
        await w.deliver()
        [posted] = [p for p in w.connector.to(channel) if "Agenda" in p.text()]
        assert posted.body["channelData"]["tenant"]["id"] == TENANT
