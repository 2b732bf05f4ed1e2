"""Follow-up some weeks after a resolution: the question, and the answer recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Item, Setting
from scheduler.jobs import run_job
from tests.sched_seed import decide


def half_past_nine(day: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, 15, 30, tzinfo=UTC)  # 09:30 CST


async def sweep(chat: LocalChat, clock: FixedClock, at: datetime) -> int:
    clock.set(at)
    n = await run_job(chat.rt, "follow_up", "lincoln", at)
    await chat.rt.dispatcher.run_once()
    return n


async def test_reporter_is_asked_after_four_weeks_and_the_answer_is_recorded(
    chat: LocalChat, clock: FixedClock
) -> None:
    await chat.submit("carol", "barrier", {"summary": "Decodable books are missing"})
    await chat.submit("dev", "barrier", {"summary": "Timer app is blocked"})
    await decide(chat, "alice", 1, "resolve", "Ordered a second set for each classroom")
    await decide(chat, "alice", 2, "resolve", "IT unblocked it")
    await chat.press("dev", "feedback:goal_met", "2")  # answered already: not asked again
    # Resolved Monday 23 Nov 08:00 CST: four weeks later is Monday 21 Dec 08:00 CST.
    assert await sweep(chat, clock, half_past_nine(18)) == 0  # not yet four weeks
    assert await sweep(chat, clock, half_past_nine(21)) == 1
    asked = (await chat.dms("carol"))[-1].message
    assert asked.text.startswith(
        'A while ago *Lincoln Elementary Implementation Team* resolved your barrier #1 ("Decodable'
    )
    assert "Ordered a second set for each classroom" in asked.text
    assert "Did the fix work?" in asked.text
    assert [b.action for b in asked.buttons] == [
        "feedback:worse",
        "feedback:no_change",
        "feedback:better",
        "feedback:goal_met",
    ]
    assert all(b.value == "1" for b in asked.buttons)
    assert await sweep(chat, clock, half_past_nine(22)) == 0  # asked once
    answered = await chat.press("carol", "feedback:better", "1")
    assert (
        "recorded that the fix made things better, though not yet at the goal (#1)"
        in answered.text()
    )
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, 1)
        assert item is not None
        assert item.follow_up_sent_at == half_past_nine(21)
        assert (item.outcome, item.outcome_at) == ("better", half_past_nine(22))
    reported = (await chat.channel("lincoln"))[-1].message.text
    assert "the reporter says *the fix made things better, though not yet at the goal*" in reported


async def test_anonymous_follow_up_asks_the_team_without_naming_anyone(
    chat: LocalChat, clock: FixedClock
) -> None:
    async with chat.rt.db.transaction() as s:
        org = await s.get(Setting, "org")
        assert org is not None
        org.value = {"follow_up_weeks": 2}
    await chat.submit(
        "femi", "barrier", {"summary": "Newsletter only in English", "anonymous": "yes"}
    )
    await decide(chat, "alice", 1, "resolve", "It now goes out in Spanish too")
    assert await sweep(chat, clock, half_past_nine(4)) == 0  # less than two weeks
    assert await sweep(chat, clock, half_past_nine(7)) == 1
    asked = (await chat.channel("lincoln"))[-1].message
    assert "raised anonymously in this team" in asked.text
    assert "Femi" not in asked.plain() and "femi" not in asked.plain()
    assert not [m for m in await chat.dms("femi") if "Did the fix work?" in m.message.text]
    refused = await chat.press("erin", "feedback:goal_met", "1")
    assert "Only the reporter" in refused.text()
    await chat.press("alice", "feedback:goal_met", "1")  # the lead answers for the team
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, 1)
        assert item is not None and item.outcome == "goal_met"


async def test_no_follow_up_questions_on_holidays(chat: LocalChat, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=UTC))
    await chat.submit("carol", "barrier", {"summary": "Library closes early"})
    await decide(chat, "alice", 1, "resolve", "Opening hours extended")
    # Four weeks later is 24 Dec, 08:00 CST: due, but 24 and 25 Dec are holidays, then a weekend.
    assert await sweep(chat, clock, half_past_nine(24)) == 0
    assert await sweep(chat, clock, half_past_nine(25)) == 0
    assert await sweep(chat, clock, half_past_nine(26)) == 0
    assert await sweep(chat, clock, half_past_nine(28)) == 1
