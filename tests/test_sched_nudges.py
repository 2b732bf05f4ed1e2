"""Response-time nudges and escalation timers: reminders, overdue notices, flags one level up,
with the clock paused on weekends and holidays (examples/org.yaml: 26-27 Nov 2026 are holidays).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import AuditEvent, Hop, Setting, Team
from scheduler.jobs import run_job
from tests.sched_seed import decide


def nine_am(day: int, month: int = 11) -> datetime:
    """09:00 in Chicago (CST, UTC-6) on a day in late 2026: when the nudges sweep runs."""
    return datetime(2026, month, day, 15, 0, tzinfo=UTC)


async def sweep(chat: LocalChat, clock: FixedClock, team: str, at: datetime) -> int:
    clock.set(at)
    n = await run_job(chat.rt, "nudges", team, at)
    await chat.rt.dispatcher.run_once()
    return n


async def last(chat: LocalChat, team: str) -> str:
    return (await chat.channel(team))[-1].message.text


async def test_reminder_notice_and_flag_follow_the_working_day_clock(
    chat: LocalChat, clock: FixedClock
) -> None:
    # Monday 23 Nov, 08:00: due three working days later; Thanksgiving (26-27) pauses the clock,
    # so it is due Monday 30 Nov (not Thursday 26).
    await chat.submit("carol", "barrier", {"summary": "Screener data arrives late"})
    assert await sweep(chat, clock, "lincoln", nine_am(24)) == 0  # two working days left
    assert await sweep(chat, clock, "lincoln", nine_am(25)) == 1
    reminder = await last(chat, "lincoln")
    assert "*Due soon*" in reminder
    assert "#1 Screener data arrives late — due Mon 30 Nov 2026 (1 working day left)" in reminder
    assert await sweep(chat, clock, "lincoln", nine_am(26)) == 0  # holiday: paused
    assert await sweep(chat, clock, "lincoln", nine_am(30)) == 0  # reminded once only
    assert await sweep(chat, clock, "lincoln", nine_am(1, 12)) == 1
    notice = await last(chat, "lincoln")
    assert "*Overdue*" in notice and "was due Mon 30 Nov 2026" in notice
    assert "flagged to Riverside District Implementation Team" in notice
    assert await sweep(chat, clock, "lincoln", nine_am(2, 12)) == 0  # 2 working days over
    assert await chat.channel("riverside") == []
    # Overdue by the team's agreed time (its 3 working days): flagged to the team above only.
    assert await sweep(chat, clock, "lincoln", nine_am(3, 12)) == 2
    assert "*Flagged to Riverside District Implementation Team*" in await last(chat, "lincoln")
    flag = (await chat.channel("riverside"))[-1].message
    assert flag.title == "Overdue at Lincoln Elementary Implementation Team"
    assert "#1 Screener data arrives late — was due Mon 30 Nov 2026, 3 working days overdue" in (
        flag.text
    )
    assert "(lead: Alice Reyes)" in flag.text
    assert "Overdue" not in "".join(r.message.title for r in await chat.channel("state"))
    assert await sweep(chat, clock, "lincoln", nine_am(4, 12)) == 0  # flagged once
    async with chat.rt.db.transaction() as s:
        hop = (await s.scalars(select(Hop).where(Hop.item_id == 1))).one()
        assert hop.reminded_at == nine_am(25)
        assert hop.overdue_flagged_at == nine_am(3, 12)
        event = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "overdue_flagged"))
        ).one()
    assert (event.actor_id, event.team_id) == (None, "lincoln")
    assert event.note == "overdue; flagged to Riverside District Implementation Team"


async def test_weekend_pauses_and_the_teams_agreed_flag_time(
    chat: LocalChat, clock: FixedClock
) -> None:
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None
        team.extra = {"nudges": {"flag_after_days": 1, "remind_before_days": 0}}
    clock.set(datetime(2026, 12, 8, 16, 0, tzinfo=UTC))  # Tuesday: due Friday 11 Dec
    await chat.submit("carol", "barrier", {"summary": "No interpreter at family meetings"})
    assert await sweep(chat, clock, "lincoln", nine_am(10, 12)) == 0  # remind_before_days: 0
    assert await sweep(chat, clock, "lincoln", nine_am(11, 12)) == 1  # due today
    assert "(today)" in await last(chat, "lincoln")
    assert await sweep(chat, clock, "lincoln", nine_am(12, 12)) == 0  # Saturday: paused
    assert await sweep(chat, clock, "lincoln", nine_am(13, 12)) == 0  # Sunday: paused
    # Monday is the first working day past due: overdue by 1, the team's agreed flag time.
    assert await sweep(chat, clock, "lincoln", nine_am(14, 12)) == 2
    assert "1 working day overdue" in await last(chat, "riverside")


async def test_flags_go_one_level_up_and_the_top_team_flags_its_lead(
    chat: LocalChat, clock: FixedClock
) -> None:
    async with chat.rt.db.transaction() as s:
        org = await s.get(Setting, "org")
        assert org is not None
        org.value = {"nudges": {"flag_after_days": 0}}  # flag as soon as it is overdue
    await chat.submit("carol", "barrier", {"summary": "Bus times clash with tutoring"})
    await chat.submit("dev", "barrier", {"summary": "Assessment licences ran out"})
    await decide(chat, "alice", 1, "escalate", "Transport is a district contract")
    await decide(chat, "alice", 2, "escalate", "Licences are bought by the district")
    await decide(chat, "dana", 2, "escalate", "Licences are a state contract")
    late = nine_am(23, 12)  # well past Riverside's 5 and the state's 10 working days
    assert await sweep(chat, clock, "riverside", late) == 2
    assert "#1 Bus times" in await last(chat, "riverside")
    assert "Overdue at Riverside District" in (await chat.channel("state"))[-1].message.title
    assert await sweep(chat, clock, "lincoln", late) == 0  # nothing is held at Lincoln
    assert await sweep(chat, clock, "state", late + timedelta(minutes=1)) == 2
    grace = (await chat.dms("grace"))[-1].message
    assert grace.title == "Overdue at State Implementation Team"
    assert "it is the top team, so this flag goes to its lead" in grace.text
    assert "#2 Assessment licences ran out" in grace.text
