"""Loop figures after a real loop: queues, time to response, loops closed."""

from __future__ import annotations

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.metrics import breakdown, link_response_times, opened_vs_resolved, team_stats


async def test_stats_follow_the_loop(chat: LocalChat, clock: FixedClock) -> None:
    await chat.submit(
        "carol",
        "barrier",
        {
            "summary": "No substitute coverage for coaching",
            "driver": "coaching",
            "affected": "staff",
        },
    )
    await chat.submit(
        "carol",
        "barrier",
        {"summary": "Screener late", "driver": "data_systems", "affected": "students"},
    )
    clock.advance(days=1)
    await chat.submit(
        "alice", "decide", {"note": "district budget"}, {"item": "1", "decision": "escalate"}
    )
    async with chat.rt.db.transaction() as s:
        stats = await team_stats(s, clock.now())
    assert (stats["lincoln"].open, stats["lincoln"].waiting_above, stats["riverside"].new) == (
        1,
        1,
        1,
    )
    assert stats["lincoln"].median_days_to_response == 1.0
    assert stats["lincoln"].closed_share == 0.0

    clock.advance(days=2)
    await chat.submit(
        "dana", "decide", {"note": "Funded a substitute pool"}, {"item": "1", "decision": "resolve"}
    )
    clock.advance(days=30)
    async with chat.rt.db.transaction() as s:
        stats = await team_stats(s, clock.now())
        links = await link_response_times(s)
        counts = await breakdown(s, team_id="lincoln")
        weeks = await opened_vs_resolved(s, clock.now(), weeks=8)
    assert stats["riverside"].median_days_to_response == 2.0
    assert stats["lincoln"].closed_share == 0.5  # one of two barriers closed with the reporter told
    assert stats["lincoln"].overdue == 1  # the screener item is long past its 3-day response time
    assert ("lincoln", "riverside", 2.0, 1) in links
    assert counts["driver"] == {"coaching": 1, "data_systems": 1}
    assert counts["affected"] == {"staff": 1, "students": 1}
    assert sum(w[1] for w in weeks) == 2 and sum(w[2] for w in weeks) == 1
