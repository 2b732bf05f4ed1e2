"""Running one job for one team, exactly once per scheduled fire time.

`run_job` is the only way anything scheduled reaches the outbox. In one transaction it:

1. writes the run's ledger row (`ScheduledSend`, key = job, team, scheduled local minute);
   the primary key makes a second run of the same fire — after a restart in the same minute,
   or from a second process — fail with an IntegrityError, which is caught: nothing doubles;
2. builds the messages from live data (and stamps what must happen once: reminders, flags,
   follow-ups);
3. enqueues them with an outbox `dedupe_key` of `<run key>:<destination>` (UNIQUE as well).

Everything commits together, so a crash leaves either the whole run or none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.authority import Act, Authority
from bot.db.models import ScheduledSend, Team
from bot.directory import Directory
from bot.messages import Message
from bot.metrics import SharedStats
from bot.outbox import enqueue
from bot.runtime import Runtime
from scheduler.config import KINDS, JobSpec, org_settings, run_key, team_jobs
from scheduler.content import build_agenda, build_digest, build_progress, build_roundup
from scheduler.triggers import TICK, last_fire_at_or_before

log = logging.getLogger("looplink.scheduler")


@dataclass
class Send:
    dest_kind: str  # "team" or "person"
    dest_id: str
    message: Message
    track: dict[str, Any] = field(default_factory=dict)
    tag: str = ""  # tells apart several messages to one destination in one run

    @property
    def suffix(self) -> str:
        base = f"{self.dest_kind}:{self.dest_id}"
        return f"{base}:{self.tag}" if self.tag else base


@dataclass
class Run:
    """What a producer gets: the open transaction, the team, the time, the job's settings."""

    rt: Runtime
    s: AsyncSession
    team: Team
    now: datetime
    key: str
    scheduled: datetime | None  # None for "run now"
    job: JobSpec | None
    org: dict[str, Any]

    @property
    def shared(self) -> SharedStats | None:
        """Scheduled runs share all teams' figures for the minute; "run now" computes fresh."""
        return SHARED_STATS if self.scheduled is not None else None

    def previous_fire(self, default: timedelta) -> datetime:
        """When this job last fired before this run (for "since last time" windows)."""
        if self.job is not None:
            at = self.scheduled or self.now
            prev = last_fire_at_or_before(self.job.trigger(), at - TICK)
            if prev is not None:
                return prev
        return self.now - default


Producer = Callable[[Run], Awaitable[list[Send]]]

# One per process: the jobs that fall due in the same minute share every team's figures.
SHARED_STATS = SharedStats()


async def produce_agenda(run: Run) -> list[Send]:
    meeting = None
    if run.scheduled is not None and run.job is not None:
        meeting = run.job.trigger().meeting_for(run.scheduled)  # type: ignore[attr-defined]
    msg = await build_agenda(run.s, run.team, run.now, meeting_at=meeting, shared=run.shared)
    return [Send("team", run.team.id, msg)]


async def digest_recipients(s: AsyncSession, team: Team) -> list[str]:
    """The team's lead(s) and liaison(s), lead first."""
    return [p.id for p in await Authority(Directory(s)).audience(team, Act.LEAD)]


async def produce_digest(run: Run) -> list[Send]:
    msg = await build_digest(run.s, run.team, run.now, shared=run.shared)
    return [Send("person", pid, msg) for pid in await digest_recipients(run.s, run.team)]


async def produce_roundup(run: Run) -> list[Send]:
    since = run.previous_fire(timedelta(days=7))
    msg = await build_roundup(run.s, run.team, run.now, since=since)
    return [Send("team", run.team.id, msg)]


async def produce_progress(run: Run) -> list[Send]:
    since = run.previous_fire(timedelta(days=30))
    msg = await build_progress(run.s, run.team, run.now, since=since)
    return [Send("team", run.team.id, msg)]


def producers() -> dict[str, Producer]:
    from scheduler.followup import produce_follow_up
    from scheduler.nudges import produce_nudges

    return {
        "agenda": produce_agenda,
        "digest": produce_digest,
        "roundup": produce_roundup,
        "progress": produce_progress,
        "nudges": produce_nudges,
        "follow_up": produce_follow_up,
    }


def manual_key(kind: str, team_id: str, now: datetime) -> str:
    return f"{kind}:{team_id}:now:{now.strftime('%Y-%m-%dT%H:%M:%S')}"


async def run_job(rt: Runtime, kind: str, team_id: str, scheduled: datetime | None = None) -> int:
    """Run `kind` for `team_id` once for the fire time `scheduled` (None: a manual run now).

    Returns how many messages were enqueued (a message to several platforms counts once);
    0 when this fire was already handled, the team is gone, or there was nothing to say.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind '{kind}'; use one of {', '.join(KINDS)}")
    for attempt in (1, 2):
        try:
            return await _run_once(rt, kind, team_id, scheduled)
        except IntegrityError:
            # Another run of the same fire (or the same one-time notice) committed first.
            # Retry once: the ledger check then sees it and nothing is sent twice.
            log.info("job %s:%s raced another run (attempt %d)", kind, team_id, attempt)
    return 0


async def _run_once(rt: Runtime, kind: str, team_id: str, scheduled: datetime | None) -> int:
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        team = await s.get(Team, team_id)
        if team is None or not team.active:
            return 0
        org = await org_settings(s)
        job = next((j for j in team_jobs(team, org) if j.kind == kind), None)
        key = (
            run_key(kind, team_id, scheduled, team.timezone)
            if scheduled is not None
            else manual_key(kind, team_id, now)
        )
        if await s.get(ScheduledSend, key) is not None:
            return 0
        ledger = ScheduledSend(
            key=key, kind=kind, team_id=team_id, scheduled_for=scheduled, sent_at=now, messages=0
        )
        s.add(ledger)
        await s.flush()
        sends = await producers()[kind](Run(rt, s, team, now, key, scheduled, job, org))
        count = 0
        for send in sends:
            rows = await enqueue(
                s,
                rt.fanout,
                now,
                send.dest_kind,
                send.dest_id,
                send.message,
                track=send.track,
                dedupe_key=f"{key}:{send.suffix}",
            )
            count += 1 if rows else 0
        ledger.messages = count
        await s.flush()
    if count:
        log.info("job %s for %s: %d message(s) enqueued (%s)", kind, team_id, count, key)
    return count


async def scheduled_job(
    kind: str,
    team_id: str,
    spec: str = "",
    added: str = "",
    *,
    rt: Runtime | None = None,
    scheduled: datetime | None = None,
) -> int:
    """What the job store names as each job's function (`scheduler.jobs:scheduled_job`).

    `spec` and `added` are bookkeeping kept with the job (see scheduler.service); `rt` and
    `scheduled` are passed in by the service's executor at run time, never stored.
    """
    if rt is None or scheduled is None:
        raise RuntimeError("scheduled_job runs only through the scheduler service's executor")
    return await run_job(rt, kind, team_id, scheduled)
