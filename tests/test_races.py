"""Races: the same thing asked for several times at once, over real parallel HTTP requests.

Signed Slack requests go to the real Bolt app at the same moment (`asyncio.gather`), on
SQLite and on PostgreSQL (where transactions really run side by side). Whatever the
interleaving, one attempt applies and the others are told politely what happened.
Each test prints its figures (N parallel attempts, how many applied).

SQLAlchemy's warnings are left as warnings here, as in production: the suite turns warnings
into errors, and an error would roll back a request that production commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SAWarning

from bot.clock import FixedClock
from bot.db.models import Item
from tests.fakes.slack_api import FakeSlack, block_text, buttons
from tests.slack_harness import Slack, running_slack

pytestmark = pytest.mark.filterwarnings(f"default::{SAWarning.__module__}.SAWarning")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


async def count(slack: Slack, model: type) -> int:
    async with slack.server.rt.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def figures(name: str, attempts: int, applied: int) -> None:
    print(f"\nRACE {name}: {attempts} parallel attempts, {applied} applied")


async def draft_at_confirm(slack: Slack, user: str = "U0CAROL") -> str:
    """Carol answers every question of the step-by-step report, up to 'Ready to send?'."""
    for text in (
        "The bus schedule cuts our coaching time in half",
        "Tuesdays and Thursdays",
        "staff",
        "2",
        "skip",
        "skip",  # whose control (issue 15)
        "skip",  # how they know (issue 15)
        "skip",
        "skip",
        "high",
        "no",
    ):
        status, _ = await slack.user.dm(user, text)
        assert status == 200
    await slack.settle()
    dm = slack.fake._dm(user)
    assert "Ready to send" in block_text(slack.message(dm)["blocks"])
    return dm


async def test_send_typed_and_clicked_at_once_creates_one_report(slack: Slack) -> None:
    """`send` typed four times and the Send button clicked twice, all at the same moment."""
    dm = await draft_at_confirm(slack)
    confirm = slack.message(dm)
    assert "steps:send" in [b["action_id"] for b in buttons(confirm["blocks"])]
    slack.fake.clear()
    attempts = [slack.user.dm("U0CAROL", "send") for _ in range(4)]
    attempts += [slack.user.click("U0CAROL", dm, confirm, "steps:send") for _ in range(2)]
    answers = await asyncio.gather(*attempts)
    assert [status for status, _ in answers] == [200] * 6
    applied = await count(slack, Item)
    figures("step-by-step send", len(attempts), applied)
    assert applied == 1
    await slack.settle()
    said = [block_text(c.args["blocks"]) for c in slack.fake.to("chat.postMessage", channel=dm)]
    thanks = [t for t in said if t.startswith("Thanks")]
    already = [t for t in said if "already sent" in t]
    assert len(thanks) == 1, said
    assert len(already) == 5, said  # every other attempt is told, none starts a new report
    assert all("#1" in t for t in already)
    cards = [c for c in slack.fake.to("chat.postMessage", channel="C0LINCOLN") if c.ok]
    assert len(cards) == 1


async def test_send_after_cancel_and_cancel_after_send(slack: Slack) -> None:
    dm = await draft_at_confirm(slack)
    answers = await asyncio.gather(
        slack.user.dm("U0CAROL", "send"), slack.user.dm("U0CAROL", "cancel")
    )
    assert [status for status, _ in answers] == [200, 200]
    await slack.settle()
    said = [block_text(c.args["blocks"]) for c in slack.fake.to("chat.postMessage", channel=dm)]
    items = await count(slack, Item)
    if items == 1:  # send won: cancel is told it came too late
        assert any("already sent" in t for t in said[-2:]), said
    else:  # cancel won: send is told nothing was sent
        assert any("cancelled" in t.lower() for t in said[-2:]), said
    # either way, no new report was started by the loser's word
    assert not any("Let's report a barrier" in t for t in said[-2:]), said
