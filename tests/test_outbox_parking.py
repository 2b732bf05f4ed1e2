"""Platform refusals that are not permanent: parked, retried later, the admin told what to fix.

Slack answers `not_in_channel` (a private team channel the bot was not invited to yet) or
`invalid_auth` (a token being rotated) for a while: the card waits and goes out once Slack
accepts it, never marked failed for good. A refusal of the message itself is permanent but
still kept: `looplink outbox list|retry|discard` and the dashboard show what waits and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import Outbox
from bot.db.session import Database
from bot.messages import Message
from bot.outbox import Delivery, Dispatcher, Fanout, SendResult, enqueue
from bot.outbox_admin import anonymous_safe, undelivered
from looplink.cli import main
from tests.conftest import MONDAY
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import BARRIER, Slack, report_barrier, running_slack
from tests.web_support import serving, settings_for


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


def accepted(slack: Slack, channel: str) -> list[dict[str, object]]:
    """Posts Slack accepted in `channel` (refused calls are recorded by the fake too)."""
    return [c.args for c in slack.fake.to("chat.postMessage", channel=channel) if c.ok]


async def rows(slack: Slack) -> list[Outbox]:
    async with slack.server.rt.db.transaction() as s:
        return list((await s.scalars(select(Outbox).order_by(Outbox.id))).all())


async def test_not_in_channel_parks_the_card_until_the_bot_is_invited(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    fake = slack.fake
    fake.outage("chat.postMessage", status=200, error="not_in_channel")
    await report_barrier(slack, BARRIER)
    assert await slack.settle() == 0
    [card] = await rows(slack)
    assert card.status == "parked" and "not_in_channel" in card.last_error
    assert "/invite @Looplink" in card.fix and "C0LINCOLN" in card.fix
    alerts = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("/invite @Looplink" in r.getMessage() for r in alerts)  # the admin is told

    # three seconds later someone invites the bot; the card goes out at the next try
    fake.restore("chat.postMessage")
    slack.clock.advance(seconds=3)
    assert await slack.settle() == 0  # parked rows are retried later, not hammered
    slack.clock.advance(seconds=30)
    assert await slack.settle() == 1
    [post] = accepted(slack, "C0LINCOLN")
    assert "screener data" in str(post["text"])
    [card] = await rows(slack)
    assert (card.status, card.fix) == ("sent", "")


async def test_a_parked_channel_keeps_its_order_and_others_go_on(slack: Slack) -> None:
    fake = slack.fake
    fake.outage("chat.postMessage", status=200, error="not_in_channel")
    await report_barrier(slack, {**BARRIER, "summary": "First in Lincoln", "details": ""})
    assert await slack.settle() == 0
    fake.restore("chat.postMessage")
    await report_barrier(slack, {**BARRIER, "summary": "Second in Lincoln", "details": ""})
    await report_barrier(
        slack, {**BARRIER, "summary": "Washington's", "details": ""}, user="U0KOFI"
    )
    assert await slack.settle() == 1  # Washington's card; Lincoln's second waits behind the first
    assert accepted(slack, "C0LINCOLN") == []
    slack.clock.advance(minutes=1)
    assert await slack.settle() == 2
    texts = [str(p["text"]) for p in accepted(slack, "C0LINCOLN")]
    assert "First in Lincoln" in texts[0] and "Second in Lincoln" in texts[1]


async def test_a_refused_token_pauses_slack_until_it_works_again(slack: Slack) -> None:
    fake = slack.fake
    fake.outage("chat.postMessage", status=200, error="invalid_auth")
    await report_barrier(slack, BARRIER)
    await report_barrier(
        slack, {**BARRIER, "summary": "Washington's", "details": ""}, user="U0KOFI"
    )
    assert await slack.settle() == 0
    parked = [r for r in await rows(slack) if r.status == "parked"]
    assert parked and all("SLACK_BOT_TOKEN" in r.fix for r in parked)
    tries = len(fake.to("chat.postMessage"))
    slack.clock.advance(seconds=10)
    assert await slack.settle() == 0
    assert len(fake.to("chat.postMessage")) == tries  # paused: Slack is not hammered
    fake.restore("chat.postMessage")  # the new token is in place
    slack.clock.advance(seconds=60)
    assert await slack.settle() == 2
    assert {r.status for r in await rows(slack)} == {"sent"}


async def test_a_refused_message_is_kept_for_the_admin_and_the_channel_goes_on(
    slack: Slack,
) -> None:
    fake = slack.fake
    fake.refuse("chat.postMessage", status=200, error="invalid_blocks")
    await report_barrier(slack, {**BARRIER, "summary": "Refused card", "details": ""})
    await report_barrier(slack, {**BARRIER, "summary": "Next card", "details": ""})
    await slack.settle()
    first, second = await rows(slack)
    assert first.status == "failed" and "invalid_blocks" in first.last_error and first.fix
    assert second.status == "sent"
    slack.clock.advance(hours=2)
    assert await slack.settle() == 0  # not retried by itself...
    async with slack.server.rt.db.transaction() as s:
        waiting = await undelivered(s)
    assert [w.id for w in waiting] == [first.id]  # ...but listed, not dropped


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
async def test_refusals_an_admin_can_fix_are_not_permanent(slack: Slack, error: str) -> None:
    slack.fake.refuse("chat.postMessage", status=200, error=error)
    await report_barrier(slack, BARRIER)
    assert await slack.settle() == 0
    [card] = await rows(slack)
    assert card.status == "parked" and card.fix
    slack.clock.advance(minutes=1)
    assert await slack.settle() == 1


# ---- looplink outbox list | retry | discard -----------------------------------------------


class Refusing:
    platform = "local"

    def __init__(self) -> None:
        self.refuse = True
        self.delivered: list[str] = []

    async def deliver(self, d: Delivery) -> SendResult:
        if self.refuse and "bad" in d.message.text:
            return SendResult(ok=False, permanent=True, error="rejected", fix="report it")
        if self.refuse and d.address.dest_id == "lincoln":
            return SendResult(ok=False, error="not_in_channel", fix="invite the bot to #lincoln")
        self.delivered.append(d.message.text)
        return SendResult(ok=True, ref={"n": len(self.delivered)})


def test_outbox_commands_list_retry_and_discard(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = Refusing()

    async def setup() -> None:
        from adapters.local.settings import INFO as LOCAL_INFO
        from bot.org_apply import apply_org
        from looplink.platforms import load_org_file
        from tests.conftest import EXAMPLE_ORG

        db = Database(db_url)
        clock = FixedClock(MONDAY)
        try:
            async with db.transaction() as s:
                await apply_org(s, load_org_file(EXAMPLE_ORG))
                for team, text in (("lincoln", "card one"), ("riverside", "bad card")):
                    await enqueue(
                        s, Fanout((LOCAL_INFO,)), clock.now(), "team", team, Message(text)
                    )
                await enqueue(
                    s,
                    Fanout((LOCAL_INFO,)),
                    clock.now(),
                    "person",
                    "carol",
                    Message("secret answer"),
                )
            d = Dispatcher(db, clock, [sender])
            await d.run_once()
        finally:
            await db.close()

    asyncio.run(setup())
    assert main(["outbox", "list", "--database", db_url]) == 0
    out = capsys.readouterr().out
    assert "#1  local  team lincoln" in out and "parked" in out
    assert "to fix: invite the bot to #lincoln" in out and "message: card one" in out
    assert "secret answer" not in out  # a direct message's text is never listed

    with pytest.raises(SystemExit):  # --reason is required
        main(["outbox", "discard", "1", "--database", db_url])
    capsys.readouterr()
    assert main(["outbox", "discard", "2", "--reason", "broken card", "--database", db_url]) == 0
    assert "#2: discarded (broken card)" in capsys.readouterr().out

    sender.refuse = False  # the bot was invited
    assert main(["outbox", "retry", "1", "2", "--database", db_url]) == 0
    out, err = capsys.readouterr()
    assert "#1:" in out and "#2" in err  # 2 was discarded: not retried

    async def deliver() -> list[Outbox]:
        db = Database(db_url)
        try:
            later = FixedClock(datetime.now(UTC) + timedelta(minutes=1))  # the CLI used real time
            await Dispatcher(db, later, [sender]).run_once()
            async with db.transaction() as s:
                return list((await s.scalars(select(Outbox).order_by(Outbox.id))).all())
        finally:
            await db.close()

    final = asyncio.run(deliver())
    assert [(r.id, r.status) for r in final] == [(1, "sent"), (2, "discarded"), (3, "sent")]
    assert final[1].discard_reason == "broken card"
    assert sorted(sender.delivered) == ["card one", "secret answer"]
    assert main(["outbox", "list", "--database", db_url]) == 0
    assert "Nothing is waiting" in capsys.readouterr().out


# ---- the dashboard ----------------------------------------------------------------------


async def test_the_dashboard_shows_parked_messages_but_not_whose_dms(
    db_url: str, clock: FixedClock
) -> None:
    async with serving(settings_for(db_url), clock) as client:
        from tests.web_support import server_of

        server = server_of(client)
        rt = server.rt
        rt.dispatcher.stop()  # this test delivers by hand, with a sender that refuses
        for task in server._tasks:
            task.cancel()
        await asyncio.gather(*server._tasks, return_exceptions=True)
        async with rt.db.transaction() as s:
            await enqueue(s, rt.fanout, clock.now(), "team", "lincoln", Message("Lincoln card"))
            await enqueue(
                s, rt.fanout, clock.now(), "person", "carol", Message("answer to a report")
            )

        class Nobody:
            platform = "local"

            async def deliver(self, dl: Delivery) -> SendResult:
                return SendResult(ok=False, error="user_not_found", fix="correct the slack id")

        await Dispatcher(rt.db, clock, [Nobody()]).run_once()
        resp = await client.get("/dashboard")
        page = await resp.text()
        assert resp.status == 200
        assert "Undelivered messages (2)" in page
        assert "correct the slack id" in page and "Lincoln card" in page
        assert "a direct message" in page
        assert "Carol" not in page.split('id="undelivered"')[1].split("</section>")[0]
        assert "answer to a report" not in page
        async with rt.db.transaction() as s:
            safe = anonymous_safe(await undelivered(s))
        assert [r.dest_id for r in safe] == ["lincoln", ""]


def test_cli_help_lists_outbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["outbox", "--help"])
    assert "list" in capsys.readouterr().out
