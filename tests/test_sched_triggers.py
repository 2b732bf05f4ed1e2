"""Agenda times across DST changes and per-team timezones (America/Chicago: DST starts
2027-03-14 02:00, ends 2026-11-01 02:00)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Team
from bot.schedule import fires_between, last_fire_at_or_before, parse_cron
from scheduler.config import JobSpec, run_key
from scheduler.jobs import run_job
from scheduler.triggers import AgendaTrigger

CHI = "America/Chicago"


def agenda_fires(cron: str, minutes: int, start: datetime, end: datetime) -> list[datetime]:
    trigger = AgendaTrigger(parse_cron(cron, CHI), minutes)
    return [f.astimezone(UTC) for f in fires_between(trigger, start, end)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_day_ahead_agenda_is_24_elapsed_hours_before_across_dst() -> None:
    # Sunday meetings at 10:00 local; the agenda goes out 1440 minutes before.
    spring = agenda_fires("0 10 * * sun", 1440, utc(2027, 3, 1), utc(2027, 3, 21))
    # 7 Mar 10:00 CST = 16:00Z; 14 Mar 10:00 CDT = 15:00Z; 21 Mar 10:00 CDT = 15:00Z
    assert spring == [utc(2027, 3, 6, 16), utc(2027, 3, 13, 15), utc(2027, 3, 20, 15)]
    fall = agenda_fires("0 10 * * sun", 1440, utc(2026, 10, 20), utc(2026, 11, 8))
    # 25 Oct 10:00 CDT = 15:00Z; 1 Nov 10:00 CST = 16:00Z; 8 Nov 10:00 CST = 16:00Z
    assert fall == [utc(2026, 10, 24, 15), utc(2026, 10, 31, 16), utc(2026, 11, 7, 16)]
    trigger = AgendaTrigger(parse_cron("0 10 * * sun", CHI), 1440)
    for fire in spring + fall:
        assert trigger.meeting_for(fire) - fire == timedelta(days=1)  # exact elapsed time


def test_a_two_hour_lead_keeps_local_time_either_side_of_dst() -> None:
    fires = agenda_fires("0 15 * * tue", 120, utc(2026, 10, 26), utc(2026, 11, 4))
    assert fires == [utc(2026, 10, 27, 18), utc(2026, 11, 3, 19)]  # 13:00 CDT, 13:00 CST
    assert [f.astimezone(ZoneInfo(CHI)).hour for f in fires] == [13, 13]


def test_a_lead_time_spanning_the_switch_itself() -> None:
    # Meetings at 04:00 local, agenda 120 minutes before, on the switch nights.
    spring = agenda_fires("0 4 14 3 *", 120, utc(2027, 3, 13), utc(2027, 3, 15))
    assert spring == [utc(2027, 3, 14, 7)]  # 04:00 CDT is 09:00Z; two hours before = 01:00 CST
    fall = agenda_fires("0 4 1 11 *", 120, utc(2026, 10, 31), utc(2026, 11, 2))
    assert fall == [utc(2026, 11, 1, 8)]  # 04:00 CST is 10:00Z; two hours before = 02:00 CST


def test_meetings_in_the_skipped_hour_still_get_an_agenda() -> None:
    # 02:30 does not exist on 14 Mar 2027 in Chicago: the meeting fires once, at 03:30 CDT.
    assert agenda_fires("30 2 * * sun", 60, utc(2027, 3, 13), utc(2027, 3, 15)) == [
        utc(2027, 3, 14, 7, 30)
    ]


async def test_a_meeting_in_the_repeated_hour_gets_one_agenda(
    chat: LocalChat, clock: FixedClock
) -> None:
    # 01:30 happens twice on 1 Nov 2026; the trigger fires at both instants, but both are the
    # same local minute, so the ledger runs it once.
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None
        team.meeting_schedule, team.agenda_before_minutes = "30 1 * * sun", 0
    fires = agenda_fires("30 1 * * sun", 0, utc(2026, 10, 31), utc(2026, 11, 2))
    assert fires == [utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 7, 30)]
    assert run_key("agenda", "lincoln", fires[0], CHI) == run_key(
        "agenda", "lincoln", fires[1], CHI
    )
    sent = []
    for fire in fires:
        clock.set(fire)
        sent.append(await run_job(chat.rt, "agenda", "lincoln", fire))
    assert sent == [1, 0]
    await chat.rt.dispatcher.run_once()
    assert (await chat.channel("lincoln"))[-1].message.title.endswith("Sun 01 Nov 2026 01:30")


def test_per_team_timezones() -> None:
    chicago = Team(id="a", name="A", level="building", timezone=CHI)
    berlin = Team(id="b", name="B", level="building", timezone="Europe/Berlin")
    chicago_job = JobSpec("agenda", chicago.id, "0 15 * * tue", chicago.timezone, 120)
    berlin_job = JobSpec("agenda", berlin.id, "0 15 * * tue", berlin.timezone, 120)
    start = utc(2026, 11, 23)
    assert chicago_job.trigger().get_next_fire_time(None, start) == utc(2026, 11, 24, 19)
    assert berlin_job.trigger().get_next_fire_time(None, start) == utc(2026, 11, 24, 12)
    assert chicago_job.spec != berlin_job.spec


def test_agenda_trigger_survives_the_job_store_and_finds_past_meetings() -> None:
    trigger = AgendaTrigger(parse_cron("0 10 1-7 * wed", CHI), 1440)  # first Wednesday monthly
    copy = pickle.loads(pickle.dumps(trigger))
    start = utc(2026, 11, 23)
    assert copy.get_next_fire_time(None, start) == trigger.get_next_fire_time(None, start)
    assert copy.get_next_fire_time(None, start) == utc(2026, 12, 1, 16)  # Tue before 2 Dec
    assert last_fire_at_or_before(trigger, start) == utc(2026, 11, 3, 16)
