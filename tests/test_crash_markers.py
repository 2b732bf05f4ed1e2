"""A crash between sending and recording: the post is found in the channel, not sent again.

Slack accepted a card, but the process died before recording it (here: the dispatcher's task
is cancelled while Slack holds the call, then Slack accepts it). The row's lease runs out; the
next server on the same database would post the card a second time. Every post carries its
outbox id in Slack message metadata, and a row whose lease ran out is first looked for in the
channel's recent history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.slack.sender import MARK
from bot.clock import FixedClock
from bot.db.models import Outbox, PostedMessage
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import BARRIER, Slack, report_barrier, running_slack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


def accepted(fake: FakeSlack, channel: str) -> list[str]:
    return [c.result["ts"] for c in fake.to("chat.postMessage", channel=channel) if c.ok]


async def crash_while_slack_holds_the_post(slack: Slack) -> None:
    """Deliver until Slack has the post, then 'crash': nothing after that point runs."""
    fake = slack.fake
    gate = fake.hold("chat.postMessage")
    round_ = asyncio.create_task(slack.server.rt.dispatcher.run_once())
    await asyncio.wait_for(fake.arrived("chat.postMessage"), 10)
    round_.cancel()  # the process dies with the post in flight: no result is recorded
    with contextlib.suppress(asyncio.CancelledError):
        await round_
    gate.set()  # ...and Slack accepts the post after all
    for _ in range(200):
        if any(c.ok for c in fake.to("chat.postMessage")):
            break
        await asyncio.sleep(0.01)
    assert len(accepted(fake, "C0LINCOLN")) == 1


async def test_a_card_accepted_before_a_crash_is_not_posted_again(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    async with running_slack(db_url, clock, fake) as slack:
        iid = await report_barrier(slack, BARRIER)
        await crash_while_slack_holds_the_post(slack)
        [post] = fake.to("chat.postMessage")
        assert post.args["metadata"]["event_type"] == MARK
        assert post.args["metadata"]["event_payload"]["outbox_id"] > 0
    clock.advance(seconds=61)  # the lease ran out; a new server starts on the same database
    async with running_slack(db_url, clock, fake) as restarted:
        assert await restarted.settle() == 1
        assert len(accepted(fake, "C0LINCOLN")) == 1  # found in the channel, not sent again
        assert len(fake.to("conversations.history")) == 1
        async with restarted.server.rt.db.transaction() as s:
            row = (await s.scalars(select(Outbox))).one()
            posted = await s.get(PostedMessage, (f"item:{iid}:team:lincoln", "slack"))
        assert row.status == "sent"
        assert posted is not None and posted.ref["ts"] == accepted(fake, "C0LINCOLN")[0]
        # the card is edited in place afterwards, as if nothing had happened
        await restarted.user.click(
            "U0ALICE", "C0LINCOLN", restarted.message("C0LINCOLN", 0), "decide:acknowledge"
        )
        assert await restarted.settle() >= 1
        assert len(accepted(fake, "C0LINCOLN")) == 1
        [edit] = [c for c in fake.to("chat.update") if c.ok]
        assert edit.args["ts"] == posted.ref["ts"]


async def test_a_post_lost_in_the_crash_is_sent_after_looking(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    """The process died before Slack accepted the post: looking finds nothing; it is sent."""
    async with running_slack(db_url, clock, fake) as slack:
        await report_barrier(slack, BARRIER)
        fake.refuse("chat.postMessage", status=500)  # the post never made it
        gate = fake.hold("chat.postMessage")
        round_ = asyncio.create_task(slack.server.rt.dispatcher.run_once())
        await asyncio.wait_for(fake.arrived("chat.postMessage"), 10)
        round_.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await round_
        gate.set()
    clock.advance(seconds=61)
    async with running_slack(db_url, clock, fake) as restarted:
        assert await restarted.settle() == 1
        assert len(accepted(fake, "C0LINCOLN")) == 1
        assert len(fake.to("conversations.history")) == 1


async def test_a_normal_delivery_does_not_look(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    async with running_slack(db_url, clock, fake) as slack:
        await report_barrier(slack, BARRIER)
        fake.refuse("chat.postMessage", status=503)  # an ordinary failure, recorded
        assert await slack.settle() == 0
        clock.advance(minutes=2)
        assert await slack.settle() == 1
        assert fake.to("conversations.history") == []  # only a row whose lease ran out looks


async def test_when_looking_is_not_allowed_the_post_is_sent(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    """Without the history scope (or membership of a public channel), Looplink cannot look:
    it sends, as before (at least once)."""
    async with running_slack(db_url, clock, fake) as slack:
        await report_barrier(slack, BARRIER)
        await crash_while_slack_holds_the_post(slack)
    clock.advance(seconds=61)
    fake.refuse("conversations.history", status=200, error="missing_scope")
    async with running_slack(db_url, clock, fake) as restarted:
        assert await restarted.settle() == 1
        assert len(accepted(fake, "C0LINCOLN")) == 2  # the known, documented duplicate
