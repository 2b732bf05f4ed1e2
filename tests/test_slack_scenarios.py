"""The loop in Slack: the real server app, signed Slack-shaped requests, a fake Slack Web API.

Each test starts `looplink.server.build_server` with Slack enabled (SLACK_API_URL pointing at the
fake), applies examples/org.yaml at start, and drives it as Slack would. The outbox is driven
by hand (`settle`), so every Web API call can be asserted in order.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.slack.platform import SlackPlatform
from bot import outbox
from bot.clock import FixedClock
from bot.db.models import ConversationRef, Item, Outbox
from looplink.server import build_server
from tests.conftest import EXAMPLE_ORG
from tests.fakes.slack_api import FakeSlack, SlackUser, block_text, buttons
from tests.settings_support import make_settings
from tests.slack_harness import BARRIER, SECRET, Slack, decide, report_barrier, running_slack


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


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
        "locus",
        "evidence",
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
        "decide:assign",
        "decide:merge",
    ]
    assert {b["value"] for b in buttons(post["blocks"])} == {str(iid)}
    text = block_text(post["blocks"])
    assert "*Reported by*\nCarol Jensen" in text and "English learners" in text
    assert post["text"].startswith(f"Barrier #{iid}")


def calls_by_channel(fake: FakeSlack) -> dict[str, list[str]]:
    """Web API calls that post or edit messages, grouped by channel, in order."""
    out: dict[str, list[str]] = {}
    for c in fake.calls:
        if c.method in ("chat.postMessage", "chat.update"):
            out.setdefault(c.args["channel"], []).append(c.method)
        elif c.method == "conversations.open":
            out.setdefault(c.args["users"], []).append(c.method)
    return out


async def test_full_loop_in_slack_building_to_district_and_back(slack: Slack) -> None:
    fake = slack.fake
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()
    assert len(slack.posts("C0LINCOLN")) == 1
    lincoln_ts = next(ts for (ch, ts) in fake.messages if ch == "C0LINCOLN")

    # Alice (Lincoln lead) escalates: the button opens a note modal with the item as context
    fake.clear()
    answer = await decide(
        slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "Vendor contract is held by the district"
    )
    opened = fake.to("views.open")
    assert len(opened) == 1
    meta = json.loads(opened[0].args["view"]["private_metadata"])
    assert meta == {
        "form_id": "decide",
        "context": {"item": str(iid), "decision": "escalate", "team": "lincoln", "version": "0"},
    }
    assert answer["response_action"] == "update"
    assert f"#{iid} escalated to the team above." in block_text(answer["view"]["blocks"])
    fake.clear()
    await slack.settle()
    assert calls_by_channel(fake) == {
        "C0LINCOLN": ["chat.postMessage", "chat.update"],  # the notice, then the card in place
        "C0RIVERSIDE": ["chat.postMessage"],  # the card, with the decision buttons
        "U0CAROL": ["conversations.open"],  # Carol hears it was sent up (issue 15) ...
        "D00000001": ["chat.postMessage"],  # ... in her DM
    }
    [update] = fake.to("chat.update")
    assert update.args["ts"] == lincoln_ts
    assert buttons(update.args["blocks"]) == []  # no longer Lincoln's to decide
    assert "Escalated" in block_text(update.args["blocks"])
    assert "by Alice Reyes" in block_text(update.args["blocks"])
    notice = fake.to("chat.postMessage", channel="C0LINCOLN")[0].args
    assert "Riverside District Implementation Team" in block_text(notice["blocks"])
    riverside = fake.to("chat.postMessage", channel="C0RIVERSIDE")[0].args
    assert [b["action_id"] for b in buttons(riverside["blocks"])] == [
        "decide:acknowledge",
        "decide:resolve",
        "decide:escalate",
        "decide:ask_info",
        "decide:decline",
        "decide:assign",
        "decide:merge",
    ]
    assert "Vendor contract is held by the district" in block_text(riverside["blocks"])

    # Dana (Riverside lead) resolves; the answer goes down to Lincoln and to Carol by DM
    fake.clear()
    resolution = "Coaches get read access to the dashboard from 1 December."
    answer = await decide(slack, "U0DANA", "C0RIVERSIDE", "decide:resolve", resolution)
    assert f"#{iid} resolved" in block_text(answer["view"]["blocks"])
    fake.clear()
    await slack.settle()
    by_channel = calls_by_channel(fake)
    dm = fake.dms["U0CAROL"]
    assert by_channel == {
        "C0LINCOLN": ["chat.postMessage", "chat.update"],  # the relayed answer; the card
        "C0RIVERSIDE": ["chat.update"],  # the card, in place
        dm: ["chat.postMessage"],  # the reporter hears back, with follow-up buttons (her DM
        # was opened when she heard the barrier was sent up)
    }
    relay = fake.to("chat.postMessage", channel="C0LINCOLN")[0].args
    assert resolution in block_text(relay["blocks"])
    to_carol = fake.to("chat.postMessage", channel=dm)[0].args
    assert resolution in block_text(to_carol["blocks"])
    assert [b["action_id"] for b in buttons(to_carol["blocks"])] == [
        "feedback:worse",
        "feedback:no_change",
        "feedback:better",
        "feedback:goal_met",
        "confirm:got_it",
        "confirm:question",
    ]
    for update in fake.to("chat.update"):
        assert buttons(update.args["blocks"]) == []
        assert "Resolved" in block_text(update.args["blocks"])
    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None and item.state == "resolved" and item.reporter_told_at is not None
        ref = await s.get(ConversationRef, ("person", "carol", "slack"))
        assert ref is not None and ref.ref == {"channel": dm}  # kept for the next DM

    # Carol says the fix helped, from her DM: her answer and the teams' notes follow
    fake.clear()
    dm_message = slack.message(dm)
    status, _ = await slack.user.click("U0CAROL", dm, dm_message, "feedback:better")
    assert status == 200
    await slack.settle()
    assert fake.to("conversations.open") == []  # the DM channel was kept
    thanks = fake.to("chat.postMessage", channel=dm)
    assert len(thanks) == 1 and "Thanks" in block_text(thanks[0].args["blocks"])
    assert fake.to("response_url") == []  # in a DM the answer is a DM, not an ephemeral note
    # her answer replaces the outcome buttons on the message she answered (issue 15)
    [edited] = fake.to("chat.update", channel=dm)
    assert edited.args["ts"] == dm_message["ts"]
    assert [b["action_id"] for b in buttons(edited.args["blocks"])] == [
        "feedback_change",
        "confirm:got_it",
        "confirm:question",
    ]
    assert "Better, not yet at goal" in block_text(edited.args["blocks"])
    for channel in ("C0LINCOLN", "C0RIVERSIDE"):
        [note] = fake.to("chat.postMessage", channel=channel)
        assert "*the fix made things better, though not yet at the goal*" in block_text(
            note.args["blocks"]
        )


async def test_dm_conversation_step_by_step(slack: Slack) -> None:
    fake = slack.fake
    dm = fake._dm("U0CAROL")

    async def say(text: str) -> list[str]:
        fake.clear()
        status, _ = await slack.user.dm("U0CAROL", text)
        assert status == 200
        await slack.settle()
        assert fake.to("conversations.open") == []  # the DM channel came with the event
        return [block_text(c.args["blocks"]) for c in fake.to("chat.postMessage", channel=dm)]

    first = await say("The bus schedule cuts our coaching time in half")
    assert len(first) == 2
    assert "Let's report a barrier" in first[0] and "Where, when and how often" in first[1]
    assert "Who is affected" in (await say("Tuesdays and Thursdays, grades 3-5"))[0]
    assert "Which implementation driver" in (await say("staff"))[0]
    assert "Which stage of implementation" in (await say("2"))[0]
    assert "within your team's control" in (await say("skip"))[0]  # issue 15: the locus
    assert "How do you know" in (await say("outside"))[0]  # its own name picks it
    assert "What have you tried" in (await say("skip"))[0]
    assert "What might help" in (await say("Asked the transport office"))[0]
    assert "How urgent" in (await say("Start coaching 20 minutes earlier"))[0]
    assert "Should your name be hidden" in (await say("high"))[0]
    [confirm] = await say("no")
    assert "Ready to send this to your team?" in confirm
    message = slack.message(dm)
    assert [b["action_id"] for b in buttons(message["blocks"])] == ["steps:send", "steps:cancel"]

    fake.clear()
    status, body = await slack.user.click("U0CAROL", dm, message, "steps:send")
    assert (status, body) == (200, "")
    await slack.settle()
    [thanks] = fake.to("chat.postMessage", channel=dm)
    assert "is with *Lincoln Elementary Implementation Team*" in block_text(thanks.args["blocks"])
    [card] = slack.posts("C0LINCOLN")
    text = block_text(card["blocks"])
    assert "The bus schedule cuts our coaching time in half" in card["blocks"][0]["text"]["text"]
    assert "Tuesdays and Thursdays, grades 3-5" in text and "high" in text
    assert fake.to("response_url") == []


async def test_dm_typed_command_that_needs_a_form_offers_a_button(slack: Slack) -> None:
    fake = slack.fake
    dm = fake._dm("U0ALICE")
    await slack.user.dm("U0ALICE", "kudos")
    await slack.settle()
    [offer] = fake.to("chat.postMessage", channel=dm)
    assert [b["action_id"] for b in buttons(offer.args["blocks"])] == ["open:kudos"]
    fake.clear()
    await slack.user.click("U0ALICE", dm, slack.message(dm), "open:kudos")
    await slack.settle()
    [opened] = fake.to("views.open")
    assert opened.args["view"]["title"]["text"] == "Recognise someone"
    assert opened.args["view"]["blocks"][0]["element"]["type"] == "users_select"
    assert fake.methods() == ["views.open"]  # the modal is the answer: no further DM


async def test_message_shortcut_turns_a_message_into_a_prefilled_report(slack: Slack) -> None:
    fake = slack.fake
    status, body = await slack.user.message_shortcut(
        "U0CAROL", "C0LINCOLN", "Buses leave before tutoring ends &amp; nobody told <@U0DANA>"
    )
    assert (status, body) == (200, "")
    await slack.settle()
    [opened] = fake.to("views.open")
    view = opened.args["view"]
    assert json.loads(view["private_metadata"])["form_id"] == "barrier"
    summary = view["blocks"][0]["element"]["initial_value"]
    assert summary == "Buses leave before tutoring ends & nobody told @dana"
    status, body = await slack.user.submit("U0CAROL", slack.last_view(), {})
    assert json.loads(body)["response_action"] == "update"
    await slack.settle()
    [card] = slack.posts("C0LINCOLN")
    assert card["blocks"][0]["text"]["text"].endswith(summary)


async def test_app_home_shows_reports_and_the_leads_queue(slack: Slack) -> None:
    fake = slack.fake
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()

    fake.clear()
    assert (await slack.user.open_home("U0CAROL"))[0] == 200
    await slack.settle()
    [carol] = fake.to("views.publish")
    assert carol.args["user_id"] == "U0CAROL"
    view = carol.args["view"]
    text = block_text(view["blocks"])
    assert view["type"] == "home"
    assert "Your reports" in text and f"#{iid} The reading screener" in text
    assert "New — waiting for a decision · with Lincoln Elementary Implementation Team" in text
    assert "queue" not in text  # members see their own reports only
    assert [b["action_id"] for b in buttons(view["blocks"])] == [
        "open:barrier",
        "open:success",
        "open:kudos",
    ]

    fake.clear()
    await slack.user.open_home("U0ALICE")
    await slack.settle()
    [alice] = fake.to("views.publish")
    text = block_text(alice.args["view"]["blocks"])
    assert "Lincoln Elementary Implementation Team: queue" in text
    assert "*New, waiting for our decision*" in text and f"#{iid} The reading screener" in text

    # a button on the home tab opens its modal
    fake.clear()
    home = fake.homes["U0ALICE"]
    await slack.user.click_in_view("U0ALICE", home, "open:success")
    await slack.settle()
    [opened] = fake.to("views.open")
    assert opened.args["view"]["title"]["text"] == "Share a success"


async def test_duplicate_deliveries_change_nothing_the_second_time(slack: Slack) -> None:
    fake = slack.fake
    # a retried slash command (same trigger id): one modal
    await slack.user.command("U0CAROL", "/barrier", "x", trigger_id="111.222.same")
    await slack.user.command("U0CAROL", "/barrier", "x", trigger_id="111.222.same")
    await slack.settle()
    assert len(fake.to("views.open")) == 1

    # a retried modal submission (same view id and hash): one report, one post
    payload = slack.user.submit_payload("U0CAROL", slack.last_view(), BARRIER)
    for _ in range(2):
        status, _ = await slack.user.interact(payload)
        assert status == 200
    await slack.settle()
    assert await slack.count(Item) == 1
    assert len(slack.posts("C0LINCOLN")) == 1

    # a retried button press (same action_ts): one decision
    fake.clear()
    click = slack.user.click_payload(
        "U0ALICE", "C0LINCOLN", slack.message("C0LINCOLN"), "decide:acknowledge"
    )
    for _ in range(2):
        await slack.user.interact(click)
    await slack.settle()
    assert len(fake.to("chat.update")) == 1
    assert len(fake.to("response_url")) == 1  # "#1 acknowledged." once

    # a retried event (same event_id): one answer
    fake.clear()
    for _ in range(2):
        status, _ = await slack.user.dm("U0CAROL", "mine", event_id="Ev0SAMEEVENT")
        assert status == 200
    await slack.settle()
    assert len(fake.to("chat.postMessage")) == 1


async def test_bad_signature_and_stale_timestamp_are_refused(slack: Slack) -> None:
    import time
    from urllib.parse import urlencode

    from tests.fakes.slack_api import sign

    body = urlencode({"command": "/barrier", "user_id": "U0CAROL", "trigger_id": "1.2.3"})
    form = "application/x-www-form-urlencoded"
    status, _ = await slack.user.post(body, form, signature="v0=" + "0" * 64)
    assert status == 401
    status, _ = await slack.user.post(
        body, form, signature=sign("not-our-secret", int(time.time()), body)
    )
    assert status == 401
    stale = int(time.time()) - 6 * 60
    status, _ = await slack.user.post(
        body, form, timestamp=stale, signature=sign(SECRET, stale, body)
    )
    assert status == 401
    assert slack.fake.methods() == []
    await slack.settle()
    assert slack.fake.methods() == []


async def test_unauthorised_click_gets_an_ephemeral_explanation_and_changes_nothing(
    slack: Slack,
) -> None:
    fake = slack.fake
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()
    fake.clear()
    async with slack.server.rt.db.transaction() as s:
        outbox_before = await s.scalar(select(func.count()).select_from(Outbox))
    status, body = await slack.user.click(
        "U0CAROL", "C0LINCOLN", slack.message("C0LINCOLN"), "decide:resolve"
    )
    assert (status, body) == (200, "")
    await slack.settle()
    [reply] = fake.to("response_url")
    assert reply.args["response_type"] == "ephemeral" and reply.args["replace_original"] is False
    assert "Only the lead or liaison of Lincoln Elementary Implementation Team" in block_text(
        reply.args["blocks"]
    )
    assert fake.methods() == ["response_url"]  # no modal, no post, no update
    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None and item.state == "new"
        assert await s.scalar(select(func.count()).select_from(Outbox)) == outbox_before


INJECTION = "<!channel> ask <@U0ALICE> & see <https://evil.example|your payslip>"


def mrkdwn_texts(args: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn in a chat.postMessage / chat.update call."""
    out = [str(args.get("text", ""))]
    for b in args.get("blocks", []):
        if isinstance(b.get("text"), dict) and b["text"]["type"] == "mrkdwn":
            out.append(b["text"]["text"])
        out += [f["text"] for f in b.get("fields", []) if f["type"] == "mrkdwn"]
        out += [e["text"] for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    return out


async def test_user_text_cannot_ping_mention_or_forge_links(slack: Slack) -> None:
    fake = slack.fake
    await report_barrier(slack, {**BARRIER, "summary": INJECTION, "details": INJECTION})
    # a typed DM arrives the way Slack sends it: the user's own < > & as entities
    await slack.user.dm("U0ALICE", "kudos @carol for &lt;!here&gt; &amp; <!channel>")
    await slack.settle()
    posted = fake.to("chat.postMessage") + fake.to("chat.update")
    assert posted
    texts = [t for c in posted for t in mrkdwn_texts(c.args)]
    joined = "\n".join(texts)
    for raw in ("<!channel>", "<!here>", "<@U0ALICE>", "<https://evil.example|your payslip>"):
        assert raw not in joined
    assert (
        "&lt;!channel&gt; ask &lt;@U0ALICE&gt; &amp; see &lt;https://evil.example|your payslip&gt;"
        in joined
    )
    kudos = "\n".join(mrkdwn_texts(fake.to("chat.postMessage", channel="C0LINCOLN")[-1].args))
    assert "&lt;!here&gt; &amp; @channel" in kudos  # typed text shown as typed; tokens defused


async def test_rate_limited_post_waits_out_retry_after_then_is_delivered_once(
    slack: Slack,
) -> None:
    fake = slack.fake
    await report_barrier(slack, BARRIER)
    fake.refuse("chat.postMessage", status=429, retry_after=30)
    assert await slack.settle() == 0
    assert len(fake.to("chat.postMessage")) == 1  # refused
    async with slack.server.rt.db.transaction() as s:
        row = (await s.scalars(select(Outbox))).one()
        assert row.status == "pending" and "rate limited" in row.last_error
        assert (row.next_attempt_at - slack.clock.now()).total_seconds() == 30
    slack.clock.advance(seconds=29)
    assert await slack.settle() == 0
    assert len(fake.to("chat.postMessage")) == 1  # not before Retry-After
    slack.clock.advance(seconds=1)
    assert await slack.settle() == 1
    assert len(fake.to("chat.postMessage")) == 2
    assert len([k for k in fake.messages if k[0] == "C0LINCOLN"]) == 1  # delivered once
    assert await slack.settle() == 0


async def test_server_errors_are_retried_and_refusals_wait_for_a_fix(slack: Slack) -> None:
    fake = slack.fake
    await report_barrier(slack, BARRIER)
    fake.refuse("chat.postMessage", status=503)
    assert await slack.settle() == 0
    slack.clock.advance(seconds=2)
    assert await slack.settle() == 1

    fake.missing_channels.add("C0LINCOLN")
    # unlike the first (a similar one would also offer Carol a voice by DM, a second post)
    await report_barrier(slack, {**BARRIER, "summary": "Second one", "details": "Room 12"})
    assert await slack.settle() == 0
    async with slack.server.rt.db.transaction() as s:
        parked = (await s.scalars(select(Outbox).where(Outbox.status == "parked"))).one()
    assert "channel_not_found" in parked.last_error and "org file" in parked.fix
    before = len(fake.to("chat.postMessage"))
    slack.clock.advance(seconds=10)
    assert await slack.settle() == 0
    assert len(fake.to("chat.postMessage")) == before  # not hammered
    fake.missing_channels.discard("C0LINCOLN")  # the org file was corrected
    slack.clock.advance(hours=1)
    assert await slack.settle() == 1  # retried later, and delivered


async def test_anonymous_report_never_reaches_slack_with_the_reporters_identity(
    slack: Slack,
) -> None:
    fake = slack.fake
    iid = await report_barrier(slack, {**BARRIER, "anonymous": True})
    await slack.settle()
    await decide(slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "District contract")
    await slack.settle()
    await decide(slack, "U0DANA", "C0RIVERSIDE", "decide:resolve", "Access from 1 December")
    await slack.settle()
    await slack.user.open_home("U0ALICE")
    await slack.settle()

    secrets = ["carol", "Carol", "Jensen", "carol.jensen@riverside.example", "U0CAROL"]
    dm = fake.dms["U0CAROL"]
    # Carol still hears back, in her own DM: opening it is the only call that names her
    [opened] = fake.to("conversations.open")
    assert opened.args == {"users": "U0CAROL"}
    assert "Access from 1 December" in block_text(
        fake.to("chat.postMessage", channel=dm)[-1].args["blocks"]
    )
    for call in fake.calls:
        if call is opened:
            continue
        for secret in secrets:
            assert secret not in call.text(), (secret, call.method, call.text()[:300])
    card = slack.message("C0LINCOLN", 0)
    assert "*Reported by*\nAnonymous" in block_text(card["blocks"])
    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None and item.anonymous and item.reporter_told_at is not None


async def test_ack_comes_before_the_modal_is_opened(slack: Slack) -> None:
    import asyncio

    gate = slack.fake.hold("views.open")
    # Slack gets its answer while views.open is still waiting on (the fake) Slack
    status, body = await asyncio.wait_for(slack.user.command("U0CAROL", "/barrier"), 5)
    assert (status, body) == (200, "")
    await asyncio.wait_for(slack.fake.arrived("views.open"), 5)
    gate.set()
    await slack.settle()
    assert len(slack.fake.to("views.open")) == 1


async def test_kudos_mentions_become_people(slack: Slack) -> None:
    fake = slack.fake
    status, body = await slack.user.command(
        "U0ALICE", "/kudos", "<@U0CAROL|carol> for running the data review &amp; the huddle"
    )
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral"
    assert "Recognition sent" in block_text(reply["blocks"])
    await slack.settle()
    dm = fake.dms["U0CAROL"]
    [to_carol] = fake.to("chat.postMessage", channel=dm)
    assert "Alice Reyes recognises *Carol Jensen*: running the data review &amp; the huddle" in (
        block_text(to_carol.args["blocks"])
    )
    assert len(fake.to("chat.postMessage", channel="C0LINCOLN")) == 1

    # a team, by its Slack channel
    fake.clear()
    await slack.user.command("U0DANA", "/kudos", "<#C0LINCOLN|lincoln-team> for the new huddle")
    await slack.settle()
    [post] = fake.to("chat.postMessage", channel="C0LINCOLN")
    assert "recognises *Lincoln Elementary Implementation Team*" in block_text(post.args["blocks"])


async def test_modal_field_errors_keep_the_modal_open(slack: Slack) -> None:
    await slack.user.command("U0CAROL", "/barrier")
    await slack.settle()
    view = slack.last_view()
    status, body = await slack.user.submit("U0CAROL", view, {"summary": "  "})
    assert status == 200
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {"summary": "Please say what is getting in the way."},
    }
    assert await slack.count(Item) == 0
    # the same modal, corrected, goes through (the failed try did not use up its delivery id)
    status, body = await slack.user.submit("U0CAROL", view, {"summary": "Fixed it"})
    assert json.loads(body)["response_action"] == "update"
    assert await slack.count(Item) == 1

    # a decision note is required: the error sits under the note field
    await slack.settle()
    await slack.user.click("U0ALICE", "C0LINCOLN", slack.message("C0LINCOLN"), "decide:decline")
    await slack.settle()
    status, body = await slack.user.submit("U0ALICE", slack.last_view(), {"note": ""})
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["note"]


async def test_strangers_are_told_politely(slack: Slack) -> None:
    status, body = await slack.user.command("U0STRANGER", "/barrier", "hello")
    assert status == 200
    assert "not in this organisation's Looplink directory" in block_text(json.loads(body)["blocks"])
    await slack.user.dm("U0STRANGER", "hello")
    await slack.settle()
    [eph] = slack.fake.to("chat.postEphemeral")
    assert eph.args["user"] == "U0STRANGER" and eph.args["channel"].startswith("D")
    assert slack.fake.to("chat.postMessage") == []


async def test_a_modal_slack_will_not_open_gets_an_ephemeral_apology(slack: Slack) -> None:
    slack.fake.refuse("views.open", status=200, error="expired_trigger_id")
    await slack.user.command("U0CAROL", "/barrier")
    await slack.settle()
    [reply] = slack.fake.to("response_url")
    assert "would not open the form" in block_text(reply.args["blocks"])


async def test_ask_reporter_answer_from_the_dm_through_a_modal(slack: Slack) -> None:
    fake = slack.fake
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()
    await decide(slack, "U0ALICE", "C0LINCOLN", "decide:ask_info", "Which grades exactly?")
    fake.clear()
    await slack.settle()
    dm = fake.dms["U0CAROL"]
    question = slack.message(dm)
    assert "Which grades exactly?" in block_text(question["blocks"])

    fake.clear()
    await slack.user.click("U0CAROL", dm, question, "answer")
    await slack.settle()
    [opened] = fake.to("views.open")
    assert json.loads(opened.args["view"]["private_metadata"]) == {
        "form_id": "answer",
        "context": {"item": str(iid)},
    }
    status, body = await slack.user.submit("U0CAROL", slack.last_view(), {"answer": "Grades 3-5"})
    assert "passed to the team" in block_text(json.loads(body)["view"]["blocks"])
    fake.clear()
    await slack.settle()
    [passed] = fake.to("chat.postMessage", channel="C0LINCOLN")
    assert "Grades 3-5" in block_text(passed.args["blocks"])
    assert "(Carol Jensen)" in block_text(passed.args["blocks"])
    [card] = fake.to("chat.update", channel="C0LINCOLN")  # back to waiting for a decision
    assert "Answered by Carol Jensen on" in block_text(card.args["blocks"])
    assert "decide:resolve" in [b["action_id"] for b in buttons(card.args["blocks"])]


async def test_kudos_modal_with_slacks_people_picker(slack: Slack) -> None:
    fake = slack.fake
    status, body = await slack.user.command("U0ALICE", "/kudos", "<@U0CAROL|carol>")
    assert (status, body) == (200, "")
    await slack.settle()
    view = slack.last_view()
    assert view["blocks"][0]["element"]["initial_user"] == "U0CAROL"
    status, body = await slack.user.submit(
        "U0ALICE", view, {"target": "U0DEV", "text": "coaching the new staff"}
    )
    assert "Recognition sent" in block_text(json.loads(body)["view"]["blocks"])
    await slack.settle()
    [to_dev] = fake.to("chat.postMessage", channel=fake.dms["U0DEV"])
    assert "recognises *Dev Patel*: coaching the new staff" in block_text(to_dev.args["blocks"])


async def test_buttons_in_a_modal_update_the_modal(slack: Slack) -> None:
    fake = slack.fake
    await slack.user.command("U0CAROL", "/barrier")
    await slack.settle()
    view = slack.last_view()
    status, body = await slack.user.submit("U0CAROL", view, BARRIER)
    thanks = json.loads(body)["view"]
    assert [b["action_id"] for b in buttons(thanks["blocks"])] == ["mine", "correct", "withdraw"]
    fake.clear()
    # Slack keeps the view id when a submission answers with response_action "update"
    await slack.user.click_in_view("U0CAROL", {**thanks, "id": view["id"]}, "mine")
    await slack.settle()
    [updated] = fake.to("views.update")
    assert updated.args["view_id"] == view["id"]
    assert "Your reports" in block_text(updated.args["view"]["blocks"])


async def test_looplink_command_help_status_and_ephemeral_buttons(slack: Slack) -> None:
    fake = slack.fake
    status, body = await slack.user.command("U0CAROL", "/looplink")
    help_reply = json.loads(body)
    assert help_reply["response_type"] == "ephemeral"
    assert "*Looplink* carries what gets in the way" in block_text(help_reply["blocks"])
    # a button in an ephemeral message: Slack sends no message, only the container
    payload = slack.user.click_payload(
        "U0CAROL", "C0LINCOLN", {"ts": "1.1", **help_reply}, "open:barrier"
    )
    payload.pop("message")
    payload["container"]["is_ephemeral"] = True
    await slack.user.interact(payload)
    await slack.settle()
    assert fake.to("views.open")[0].args["view"]["title"]["text"] == "Report a barrier"

    status, body = await slack.user.command("U0CAROL", "/looplink", "status")
    assert "The queue is for team leads and liaisons" in block_text(json.loads(body)["blocks"])
    await report_barrier(slack, BARRIER)
    status, body = await slack.user.command("U0ALICE", "/looplink", "status")
    queue = block_text(json.loads(body)["blocks"])
    assert "Lincoln Elementary Implementation Team: queue" in queue and "#1 The reading" in queue
    status, body = await slack.user.command("U0CAROL", "/looplink", "mine")
    assert "#1 The reading" in block_text(json.loads(body)["blocks"])


@pytest.fixture
async def socket_slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    settings = make_settings(
        database_url=db_url,
        org_file=EXAMPLE_ORG,
        slack_bot_token=fake.token,
        slack_signing_secret=SECRET,
        slack_app_token=fake.app_token,
        slack_api_url=fake.api_url,
        run_scheduler=False,
    )
    server = await build_server(settings, clock=clock)
    server.rt.dispatcher.stop()
    platform = server.platforms[0]
    assert isinstance(platform, SlackPlatform)
    platform._sender.min_interval = 0
    async with TestClient(TestServer(server.app)) as client:
        yield Slack(fake, SlackUser(client, SECRET, fake), server, platform, clock)


async def test_socket_mode_carries_commands_and_events_without_a_public_url(
    socket_slack: Slack,
) -> None:
    slack = socket_slack
    fake = slack.fake
    [opened_socket] = fake.to("apps.connections.open")
    assert opened_socket.token == fake.app_token

    command = {
        "token": "legacy-verification-token",
        "team_id": "T0RIVER",
        "channel_id": "C0LINCOLN",
        "user_id": "U0CAROL",
        "command": "/barrier",
        "text": "late screener data",
        "api_app_id": "A0LOOPLINK",
        "response_url": fake.response_url("socket-command"),
        "trigger_id": "777.888.999",
    }
    ack = await fake.over_socket("slash_commands", command)
    assert "payload" not in ack or not ack["payload"]
    await slack.settle()
    [opened] = fake.to("views.open")
    assert opened.args["view"]["blocks"][0]["element"]["initial_value"] == "late screener data"

    ack = await fake.over_socket(
        "events_api",
        {
            "team_id": "T0RIVER",
            "api_app_id": "A0LOOPLINK",
            "type": "event_callback",
            "event_id": "Ev0SOCKET1",
            "event": {
                "type": "message",
                "channel": "D0CAROLDM",
                "user": "U0CAROL",
                "text": "mine",
                "ts": "1795000000.000001",
                "channel_type": "im",
            },
        },
    )
    await slack.settle()
    [reply] = fake.to("chat.postMessage", channel="D0CAROLDM")
    assert "You have not reported anything yet" in block_text(reply.args["blocks"])


async def test_app_home_queue_follows_the_item_up_and_flags_overdue(slack: Slack) -> None:
    fake = slack.fake
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()
    await decide(slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "District contract")
    await slack.settle()

    async def home(user: str) -> dict[str, str]:
        fake.clear()
        await slack.user.open_home(user)
        await slack.settle()
        [published] = fake.to("views.publish")
        fields = [f["text"] for b in published.args["view"]["blocks"] for f in b.get("fields", [])]
        return {f.split("\n", 1)[0].strip("*"): f.split("\n", 1)[1] for f in fields}

    line = f"#{iid} The reading screener"
    alice = await home("U0ALICE")
    assert alice["Waiting on the team above"].startswith(line)
    assert alice["New, waiting for our decision"] == "none"
    dana = await home("U0DANA")
    assert dana["New, waiting for our decision"].startswith(line)
    assert dana["Overdue"] == "none"
    slack.clock.advance(days=14)
    assert (await home("U0DANA"))["Overdue"].startswith(line)


async def test_a_dm_answer_is_stored_with_the_change_or_not_at_all(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If queuing the answer to a direct message fails, the delivery is not recorded either,
    so Slack's retry (or the person's) gets the answer; it is never silently dropped."""
    import adapters.slack.app as slack_app
    from bot.db.models import ProcessedDelivery
    from flows.router import SORRY

    real = outbox.enqueue  # what adapters.slack.app calls, until patched below
    failures = [RuntimeError("the outbox is unavailable")]

    async def flaky(*args: Any, **kw: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(*args, **kw)

    monkeypatch.setattr(slack_app, "enqueue", flaky)
    status, _ = await slack.user.dm("U0CAROL", "mine", event_id="Ev0FLAKY")
    assert status == 200
    await slack.settle()
    [apology] = slack.fake.to("chat.postEphemeral")  # a clear error, for her eyes only
    assert SORRY in block_text(apology.args["blocks"])
    assert await slack.count(ProcessedDelivery) == 0  # nothing half-done

    status, _ = await slack.user.dm("U0CAROL", "mine", event_id="Ev0FLAKY")  # the retry
    assert status == 200
    await slack.settle()
    [answer] = slack.fake.to("chat.postMessage", channel=slack.fake.dms["U0CAROL"])
    assert "You have not reported anything yet" in block_text(answer.args["blocks"])
    status, _ = await slack.user.dm("U0CAROL", "mine", event_id="Ev0FLAKY")  # and once only
    await slack.settle()
    assert len(slack.fake.to("chat.postMessage")) == 1


async def test_web_api_calls_share_connections(slack: Slack) -> None:
    """Modals, outbox posts and edits go over a pool of kept-alive connections, not a new
    connection (and, against the real Slack, a new TLS handshake) per call."""
    unlike = [  # unlike each other: similar reports would also offer a voice by DM
        ("The copier on floor 2 is broken", "Since Monday"),
        ("Buses arrive twenty minutes late", "Routes 4 and 7"),
        ("No interpreter for IEP meetings", "Spanish-speaking parents"),
    ]
    for summary, details in unlike:
        await report_barrier(slack, {**BARRIER, "summary": summary, "details": details})
        await slack.settle()
    calls = [c for c in slack.fake.calls if c.method in ("views.open", "chat.postMessage")]
    assert len(calls) == 6
    assert len({c.peer for c in calls}) <= 2
    platform = slack.platform
    assert platform.bot.client.session is platform._sender.client.session is platform.bot.http
