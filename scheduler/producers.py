"""What each kind of job sends: one producer per kind (`PRODUCERS`), from live data."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import selfcheck
from bot.authority import Act, Authority
from bot.content.agenda import build_agenda, selfcheck_button
from bot.content.common import render
from bot.content.digest import build_digest
from bot.content.recognition import build_progress, build_roundup
from bot.db.models import Team
from bot.directory import Directory
from bot.messages import Message
from bot.schedule import TICK, last_fire_at_or_before
from scheduler.followup import produce_follow_up
from scheduler.nudges import produce_nudges
from scheduler.run import Producer, Run, Send


async def _holiday(run: Run, day_of: datetime | None = None) -> bool:
    """Whether the day that matters is one of the organisation's holidays: for an agenda the
    meeting's day (an agenda posted the day before a holiday meeting is skipped; one posted on
    a Sunday for a Monday meeting is not), else the day of the run. Agendas, roundups,
    progress messages and pulses are skipped then, not moved (docs/scheduler.md). Weekends do
    not skip them: a schedule that names a weekend day was chosen by the team."""
    cal = await Directory(run.s).calendar()
    at = day_of or run.now
    return at.astimezone(ZoneInfo(run.team.timezone)).date() in cal.holidays


async def _since(run: Run, default: timedelta) -> datetime:
    """The previous run's fire time, stepping back over runs skipped on holidays, so a
    skipped run's period is covered by the next one."""
    cal = await Directory(run.s).calendar()
    since = run.previous_fire(default)
    for _ in range(31):
        if run.job is None or (
            since.astimezone(ZoneInfo(run.team.timezone)).date() not in cal.holidays
        ):
            break
        before = last_fire_at_or_before(run.job.trigger(), since - TICK)
        if before is None:
            break
        since = before
    return since


async def produce_agenda(run: Run) -> list[Send]:
    meeting = None
    if run.scheduled is not None and run.job is not None:
        meeting = run.job.trigger().meeting_for(run.scheduled)
    if await _holiday(run, meeting):
        return []
    return [
        Send(
            "team",
            run.team.id,
            lambda: build_agenda(
                run.s, run.team, run.now, meeting_at=meeting, shared=run.shared, batch=run.batch
            ),
        )
    ]


async def digest_recipients(s: AsyncSession, team: Team) -> list[str]:
    """The team's lead(s) and liaison(s), lead first."""
    return [p.id for p in await Authority(Directory(s)).audience(team, Act.LEAD)]


async def produce_digest(run: Run) -> list[Send]:
    def digest() -> Awaitable[Message]:  # in each lead's own language
        return build_digest(run.s, run.team, run.now, shared=run.shared, batch=run.batch)

    return [Send("person", pid, digest) for pid in await digest_recipients(run.s, run.team)]


async def produce_roundup(run: Run) -> list[Send]:
    if await _holiday(run):
        return []
    since = await _since(run, timedelta(days=7))
    return [Send("team", run.team.id, lambda: build_roundup(run.s, run.team, run.now, since=since))]


async def produce_progress(run: Run) -> list[Send]:
    if await _holiday(run):
        return []
    since = await _since(run, timedelta(days=30))
    return [
        Send("team", run.team.id, lambda: build_progress(run.s, run.team, run.now, since=since))
    ]


async def produce_pulse(run: Run) -> list[Send]:
    """Each quarter, "how well is our feedback protocol working?" to every linked team (one
    with a team above or below it), answered per member from the button, shown aggregated."""
    if await _holiday(run):
        return []
    team = run.team
    below = await run.s.scalar(
        select(func.count()).select_from(Team).where(Team.parent_id == team.id, Team.active)
    )
    if team.parent_id is None and not below:
        return []  # not linked to any team: no protocol to ask about
    round_ = selfcheck.quarter(run.now.astimezone(ZoneInfo(team.timezone)))

    def pulse() -> Message:  # in the team's language
        msg = render("pulse", team=team, round=round_)
        return replace(msg, buttons=(selfcheck_button("pulse", team, round_),))

    return [Send("team", team.id, pulse)]


PRODUCERS: dict[str, Producer] = {
    "agenda": produce_agenda,
    "digest": produce_digest,
    "roundup": produce_roundup,
    "progress": produce_progress,
    "nudges": produce_nudges,
    "follow_up": produce_follow_up,
    "pulse": produce_pulse,
}
