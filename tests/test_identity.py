"""Issue 10, "a Teams user of another tenant becomes a member": platform identities belong to
one workspace or tenant, over real HTTP (botbuilder at /api/messages with the fake connector;
signed requests to the real Bolt app against the fake Slack Web API).

The organisation declares its own Slack workspaces and Microsoft 365 tenants (examples/org.yaml:
workspace T0RIVER, the tenant the Teams fakes use). Anyone from anywhere else is a stranger,
even with a member's email or user id; an email links an identity only inside a declared
workspace or tenant and only for a person with no identity there yet; an inbound message never
re-points an existing link or stores a conversation reference for anyone but its sender.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.db.models import AuditEvent, ConversationRef, Item
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import FakeSlack, SlackUser, block_text
from tests.fakes.teams_client import MAYA, OAKGROVE, QUINN, TeamsClient, TeamsUser, user
from tests.slack_harness import BARRIER, Slack, decide, report_barrier, running_slack
from tests.teams_world import World, teams_world
from tests.test_teams_loop import BARRIER_INPUTS, install_everywhere, item_card, report_with_form

OTHER_TENANT = "0b5e7a1c-0000-4000-8000-0000000b0b0b"  # a tenant the organisation never declared
# a user of that tenant, given Quinn's (or Maya's, or Carol's) email in their own tenant
STRANGER = user("29:1f00-stranger-in-another-tenant", "Quinn Murphy")
QUESTION = "Which grades does the late screener data affect?"
SECRET = "identity-test-signing-secret"


def stranger_with_email(w: World, email: str, who: TeamsUser = STRANGER) -> TeamsClient:
    """The stranger's tenant, whose roster gives them `email` (any tenant can do that)."""
    w.connector.members[who.id] = {"id": who.id, "email": email, "tenantId": OTHER_TENANT}
    return w.teams.in_tenant(OTHER_TENANT)


def said_to(w: World, who: TeamsUser) -> str:
    return "\n".join(p.text() for p in w.connector.to(who.personal_conversation))


async def ask_reporter_in_teams(w: World, iid: int) -> None:
    """Maya, Oak Grove's lead, asks the (anonymous) reporter of #iid a question from the card."""
    card = item_card(w, OAKGROVE, iid)
    pressed = await w.teams.execute(
        MAYA, action(card.card, "Ask reporter"), channel=OAKGROVE, reply_to=card.activity_id
    )
    done = await w.teams.execute(
        MAYA,
        action(pressed.card, "Confirm"),
        {"in_note": QUESTION},
        channel=OAKGROVE,
        reply_to=card.activity_id,
    )
    assert done.status == 200, done.body
    await w.deliver()


async def test_a_stranger_with_a_members_email_sees_nothing_of_hers(
    db_url: str, clock: FixedClock
) -> None:
    """Finding 1: the stranger typed `mine` and received Quinn's reports, anonymous one included."""
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=True)
        await w.deliver()
        other = stranger_with_email(w, "quinn.murphy@millbrook.example")
        for text in ("mine", "status", "help"):
            r = await other.say(STRANGER, text)
            assert r.status == 200
        await w.deliver()
        seen = said_to(w, STRANGER)
        assert "I don't know you yet" in seen
        assert BARRIER_INPUTS["in_summary"] not in seen and f"#{iid}" not in seen
        assert "Oak Grove" not in seen
        # nothing was learnt about the stranger: Quinn's Teams identity is still hers alone
        async with w.server.rt.db.transaction() as s:
            ref = await s.get(ConversationRef, ("person", "quinn", "teams"))
        assert ref is not None
        assert ref.ref["conversation"]["id"] == QUINN.personal_conversation


async def test_a_stranger_never_re_points_a_members_conversation(
    db_url: str, clock: FixedClock
) -> None:
    """Finding 2: Quinn's stored reference was re-pointed to the stranger's conversation, and
    the lead's question to the anonymous reporter of #1 went to the stranger."""
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=True)
        await w.deliver()
        other = stranger_with_email(w, "quinn.murphy@millbrook.example")
        await other.install_personal(STRANGER)
        await other.say(STRANGER, "hello")
        await ask_reporter_in_teams(w, iid)
        assert QUESTION in said_to(w, QUINN)
        assert QUESTION not in said_to(w, STRANGER)
        assert all(
            QUESTION not in c.text()
            for c in w.connector.calls
            if STRANGER.personal_conversation in c.path or STRANGER.id in json.dumps(c.body)
        )
        async with w.server.rt.db.transaction() as s:
            ref = await s.get(ConversationRef, ("person", "quinn", "teams"))
        assert ref is not None
        assert ref.ref["conversation"]["id"] == QUINN.personal_conversation
        assert ref.ref["conversation"].get("tenantId") != OTHER_TENANT


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


class _Http:
    """What SlackUser needs from a test client: post(path, ...) against the running server."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base.rstrip("/")

    def post(self, path: str, **kw: Any) -> Any:
        return self.session.post(self.base + path, **kw)


async def test_a_stranger_in_teams_never_receives_a_slack_members_question(
    db_url: str, clock: FixedClock, fake_slack: FakeSlack
) -> None:
    """Finding 3: Carol (Slack only) reported anonymously; after a stranger in Teams with her
    email wrote to the bot, the question to the anonymous reporter went to the stranger in
    Teams instead of Carol's Slack DM."""
    async with teams_world(
        db_url,
        clock,
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        run_scheduler=False,
    ) as w:
        platform = next(p for p in w.server.platforms if isinstance(p, SlackPlatform))
        platform._sender.min_interval = 0
        async with aiohttp.ClientSession() as http:
            base = w.teams.bot_url.removesuffix("/api/messages")
            slack_user = SlackUser(_Http(http, base), SECRET, fake_slack)  # type: ignore[arg-type]
            slack = Slack(fake_slack, slack_user, w.server, platform, clock)
            iid = await report_barrier(slack, {**BARRIER, "anonymous": True})
            await slack.settle()

            other = stranger_with_email(w, "carol.jensen@riverside.example")
            await other.install_personal(STRANGER)
            await other.say(STRANGER, "mine")
            await w.deliver()
            assert "I don't know you yet" in said_to(w, STRANGER)

            await decide(slack, "U0ALICE", "C0LINCOLN", "decide:ask_info", QUESTION)
            await slack.settle()
            await w.deliver()

    assert QUESTION not in said_to(w, STRANGER)
    dm = fake_slack.dms["U0CAROL"]
    asked = [c for c in fake_slack.to("chat.postMessage", channel=dm)]
    assert any(QUESTION in block_text(c.args.get("blocks") or []) for c in asked)
    async with w.server.rt.db.transaction() as s:
        assert await s.get(ConversationRef, ("person", "carol", "teams")) is None
        item = await s.get(Item, iid)
    assert item is not None and item.anonymous


async def test_a_stranger_cannot_decide_as_a_lead(db_url: str, clock: FixedClock) -> None:
    """Finding 4: the stranger pressed Acknowledge on a card as the lead ("acknowledge by
    maya" in the audit)."""
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        card = item_card(w, OAKGROVE, iid)
        fake_maya = user("29:1f00-maya-lookalike", "Maya Singh")
        other = stranger_with_email(w, "maya.singh@millbrook.example", fake_maya)
        pressed = await other.execute(
            fake_maya, action(card.card, "Acknowledge"), channel=OAKGROVE, reply_to=card.activity_id
        )
        assert pressed.status == 200
        await w.deliver()
        assert "Acknowledged" not in card_text(item_card(w, OAKGROVE, iid).card)
        async with w.server.rt.db.transaction() as s:
            item = await s.get(Item, iid)
            actions = list(
                (await s.scalars(select(AuditEvent.action).where(AuditEvent.item_id == iid))).all()
            )
        assert item is not None and item.state == "new"
        assert actions == ["reported"]


async def test_a_second_identity_with_a_linked_members_email_is_a_stranger(
    db_url: str, clock: FixedClock
) -> None:
    """An email links an identity only for a person with no identity in that tenant yet: a
    second account in the organisation's own tenant with Quinn's email is not Quinn, and her
    conversation stays hers."""
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=True)
        await w.deliver()
        second = user("29:1f00-quinn-second-account", "Q. Murphy")
        w.connector.members[second.id] = {
            "id": second.id,
            "email": "quinn.murphy@millbrook.example",
        }
        await w.teams.say(second, "mine")
        await w.deliver()
        seen = said_to(w, second)
        assert "I don't know you yet" in seen and f"#{iid}" not in seen
        await ask_reporter_in_teams(w, iid)
        assert QUESTION in said_to(w, QUINN) and QUESTION not in said_to(w, second)


async def test_an_email_links_a_person_without_an_identity_in_a_declared_tenant(
    db_url: str, clock: FixedClock
) -> None:
    """Henry has no Teams id in the org file: his first message from the organisation's tenant
    links him by the roster's email, once; a later account with the same email is a stranger."""
    async with teams_world(db_url, clock) as w:
        henry = user("29:1f00-henry", "Henry Lindqvist")
        w.connector.members[henry.id] = {"id": henry.id, "email": "Henry.Lindqvist@state.example"}
        await w.teams.say(henry, "mine")
        await w.deliver()
        assert "You have not reported anything yet" in said_to(w, henry)
        again = user("29:1f00-henry-again", "Henry L.")
        w.connector.members[again.id] = {"id": again.id, "email": "henry.lindqvist@state.example"}
        await w.teams.say(again, "mine")
        await w.deliver()
        assert "I don't know you yet" in said_to(w, again)
        # and the same email from another tenant links nobody
        elsewhere = user("29:1f00-henry-elsewhere", "Henry Lindqvist")
        other = stranger_with_email(w, "henry.lindqvist@state.example", elsewhere)
        await other.say(elsewhere, "mine")
        await w.deliver()
        assert "I don't know you yet" in said_to(w, elsewhere)


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake_slack) as s:
        yield s


async def test_a_slack_user_of_another_workspace_is_a_stranger(slack: Slack) -> None:
    """The same rules hold for Slack: a request signed by the app but sent from a workspace the
    organisation never declared is a stranger's, even with a member's user id."""
    iid = await report_barrier(slack, {**BARRIER, "anonymous": True})
    await slack.settle()
    outsider = slack.user.in_workspace("T0ELSEWHERE")
    status, body = await outsider.command("U0CAROL", "/looplink", "mine", channel="C0ELSEWHERE")
    assert status == 200, body
    answer = json.loads(body)
    assert "I don't know you yet" in answer["text"] and f"#{iid}" not in body
    # a workspace of an Enterprise Grid organisation nobody declared: the same
    grid = slack.user.in_workspace("T0GRIDWS", enterprise="E0SOMEGRID")
    status, body = await grid.command("U0ALICE", "/looplink", "status", channel="C0LINCOLN")
    assert "I don't know you yet" in json.loads(body)["text"]
    # pressing a lead's button from there changes nothing
    card = slack.message("C0LINCOLN", 0)
    status, _ = await outsider.click("U0ALICE", "C0LINCOLN", card, "decide:acknowledge")
    await slack.settle()
    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, iid)
    assert item is not None and item.state == "new"
