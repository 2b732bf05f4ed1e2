"""A district leader's `status` shows what is stuck in the teams below (issue 15): open items
unanswered past their team's agreed response time, not only what reached her team."""

from __future__ import annotations

from adapters.local import LocalChat
from bot.clock import FixedClock


async def test_district_status_shows_what_is_stuck_below(
    chat: LocalChat, clock: FixedClock
) -> None:
    await chat.submit("carol", "barrier", {"summary": "Coaching logs are on paper"})
    await chat.submit("hana", "barrier", {"summary": "No interpreter at family night"})
    fresh = (await chat.command("dana", "status")).text()
    assert "Stuck in the teams below (past their response time): none" in fresh, fresh
    clock.advance(days=14)  # past Lincoln's and Washington's response times
    stuck = (await chat.command("dana", "status")).text()
    section = stuck.split("Stuck in the teams below (past their response time):")[1]
    assert "#1 Coaching logs are on paper" in section
    assert "with Lincoln Elementary Implementation Team" in section
    assert "#2 No interpreter at family night" in section
    # a building lead has no teams below: no such section
    assert "Stuck in the teams below" not in (await chat.command("alice", "status")).text()
    # the state lead sees it too, two levels down
    assert "#1 Coaching logs are on paper" in (await chat.command("grace", "status")).text()
