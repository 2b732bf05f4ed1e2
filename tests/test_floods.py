"""One person cannot drown a channel: per-person limits, and a burst collapsed into one notice.

Carol submitted 60 reports in 1.9 s; Dev's single report then reached the channel 58 s after
his acknowledgement, queued behind hers (Slack takes one post per second per channel). Now:
reports, kudos and agenda items are limited per person (a clear message; nothing accepted is
lost, and a refused report keeps its form or draft), and from a person's fourth report to one
team within ten minutes their cards are replaced by one notice, edited in place, listing them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SAWarning

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import AgendaItem, Item, Kudos
from bot.limits import AGENDA, KUDOS, REPORTS
from tests.fakes.slack_api import FakeSlack, block_text, buttons
from tests.slack_harness import BARRIER, Slack, running_slack

pytestmark = pytest.mark.filterwarnings(f"default::{SAWarning.__module__}.SAWarning")

PER_TEN_MINUTES = REPORTS[0].count


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


async def count(slack: Slack, model: type, **where: Any) -> int:
    async with slack.server.rt.db.transaction() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(await s.scalar(q) or 0)


async def barrier_modal(slack: Slack, user: str) -> dict[str, Any]:
    status, _ = await slack.user.command(user, "/barrier", "")
    assert status == 200
    await slack.settle()
    return slack.last_view()


def submit(slack: Slack, user: str, view: dict[str, Any], n: int, summary: str) -> Any:
    """One modal submission (each has its own view id, so its own delivery id)."""
    own = {**view, "id": f"V{user}{n:05d}", "hash": f"{n}.h"}
    return slack.user.submit(user, own, {**BARRIER, "summary": summary})


async def test_sixty_reports_at_once_do_not_hold_up_someone_elses(slack: Slack) -> None:
    fake = slack.fake
    view = await barrier_modal(slack, "U0CAROL")
    answers = await asyncio.gather(
        *(submit(slack, "U0CAROL", view, n, f"Flood {n}") for n in range(60))
    )
    assert [status for status, _ in answers] == [200] * 60
    accepted = await count(slack, Item, reporter_id="carol")
    print(f"\nRACE flood: 60 parallel reports from one person, {accepted} accepted")
    assert accepted == PER_TEN_MINUTES
    refused = [json.loads(body) for _, body in answers if "errors" in body]
    assert len(refused) == 60 - PER_TEN_MINUTES  # the modal stays open, with the reason
    assert all("wait" in r["errors"]["summary"] for r in refused)

    dev_view = await barrier_modal(slack, "U0DEV")
    status, _ = await submit(slack, "U0DEV", dev_view, 1, "Dev's one report")
    assert status == 200
    while await slack.settle():
        pass
    posts = [c for c in fake.to("chat.postMessage", channel="C0LINCOLN") if c.ok]
    texts = [block_text(c.args["blocks"]) for c in posts]
    dev = next(i for i, t in enumerate(texts) if "Dev's one report" in t)
    print(f"RACE flood: Dev's card is post {dev + 1} in the channel (was 61)")
    assert dev <= 4  # behind at most Carol's three cards and her one notice
    [notice] = [t for t in texts if "more reports" in t]
    assert "Carol Jensen" in notice
    assert notice.count("Flood ") == PER_TEN_MINUTES - 3  # every one of hers is listed
    # and the notice was edited in place as her reports came, never posted twice
    assert sum("more reports" in t for t in texts) == 1


async def test_show_card_posts_a_collapsed_reports_card_with_its_buttons(slack: Slack) -> None:
    fake = slack.fake
    view = await barrier_modal(slack, "U0CAROL")
    for n in range(5):
        await submit(slack, "U0CAROL", view, n, f"Report {n}")
    while await slack.settle():
        pass
    notice = next(
        m
        for (ch, _), m in fake.messages.items()
        if ch == "C0LINCOLN" and "more reports" in block_text(m["blocks"])
    )
    shows = [b for b in buttons(notice["blocks"]) if b["action_id"].startswith("card:show")]
    assert len(shows) == 2  # reports 4 and 5
    status, _ = await slack.user.click("U0ALICE", "C0LINCOLN", notice, shows[0]["action_id"])
    assert status == 200
    await slack.settle()
    card = [c for c in fake.to("chat.postMessage", channel="C0LINCOLN") if c.ok][-1]
    assert "Report 3" in block_text(card.args["blocks"])
    assert "decide:resolve" in [b["action_id"] for b in buttons(card.args["blocks"])]


async def test_anonymous_reports_are_never_grouped_under_a_name(slack: Slack) -> None:
    fake = slack.fake
    view = await barrier_modal(slack, "U0CAROL")
    for n in range(5):
        own = {**view, "id": f"VANON{n:05d}", "hash": f"{n}.h"}
        await slack.user.submit(
            "U0CAROL", own, {**BARRIER, "summary": f"Quiet {n}", "anonymous": True}
        )
    while await slack.settle():
        pass
    texts = [block_text(c.args["blocks"]) for c in fake.to("chat.postMessage", channel="C0LINCOLN")]
    assert sum("Quiet" in t for t in texts) == 5  # each its own card
    assert not any("Carol" in t for t in texts)
    assert not any("more reports" in t for t in texts)


async def test_kudos_and_agenda_items_are_limited_per_person(chat: LocalChat) -> None:
    for n in range(KUDOS[0].count):
        assert "Recognition sent" in (await chat.say("carol", f"kudos @alice for help {n}")).text()
    refused = (await chat.say("carol", "kudos @alice for one more")).text()
    assert "wait" in refused and "kudos" in refused
    assert "Recognition sent" in (await chat.say("dev", "kudos @alice for the review")).text()
    for n in range(AGENDA[0].count):
        assert "Added" in (await chat.say("carol", f"agenda add topic {n}")).text()
    refused = (await chat.say("carol", "agenda add one more")).text()
    assert "wait" in refused and "agenda" in refused
    async with chat.rt.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Kudos)) == KUDOS[0].count + 1
        assert await s.scalar(select(func.count()).select_from(AgendaItem)) == AGENDA[0].count
    chat.rt.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert "Recognition sent" in (await chat.say("carol", "kudos @alice for later")).text()


async def test_a_refused_step_by_step_report_keeps_its_draft(chat: LocalChat) -> None:
    for n in range(PER_TEN_MINUTES):
        await chat.submit("carol", "barrier", {"summary": f"Form report {n}"})
    await chat.say("carol", "The bus schedule cuts coaching time")
    for answer in ("Tuesdays", "staff", "2", "skip", "skip", "skip", "skip", "skip", "high", "no"):
        await chat.say("carol", answer)
    refused = (await chat.say("carol", "send")).text()
    assert "wait" in refused
    chat.rt.clock.advance(minutes=11)  # type: ignore[attr-defined]
    sent = (await chat.say("carol", "send")).text()  # the draft was kept: nothing lost
    assert "Thanks" in sent


async def test_parallel_kudos_from_one_person_respect_the_limit(slack: Slack) -> None:
    attempts = [
        slack.user.command("U0CAROL", "/kudos", f"<@U0ALICE> for the data review {n}")
        for n in range(3 * KUDOS[0].count)
    ]
    answers = await asyncio.gather(*attempts)
    assert [status for status, _ in answers] == [200] * len(attempts)
    applied = await count(slack, Kudos, giver_id="carol")
    print(f"\nRACE kudos: {len(attempts)} parallel from one person, {applied} accepted")
    assert applied == KUDOS[0].count
