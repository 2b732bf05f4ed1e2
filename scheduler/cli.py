"""`looplink agenda|digest TEAM [--dry-run]`, `looplink jobs`; re-sync jobs after `org apply`.

looplink agenda lincoln --dry-run     print the agenda that would be posted now
looplink agenda lincoln               post it now (through the outbox of a running server)
looplink digest lincoln --dry-run     print the digest and who would get it
looplink jobs [--team lincoln]        the scheduled jobs and their next run times
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.clock import Clock, FixedClock, SystemClock
from bot.content.agenda import build_agenda
from bot.content.digest import build_digest
from bot.db.migrate import upgrade
from bot.db.models import Person, Team
from bot.db.session import Database
from bot.directory import Directory
from bot.i18n import ngettext
from bot.messages import Message
from bot.outbox import Fanout
from bot.platform_info import PlatformInfo
from bot.platforms import CliContext
from bot.runtime import Runtime
from bot.settings import Settings
from scheduler.config import JobSpec, desired_jobs
from scheduler.jobs import run_job
from scheduler.producers import digest_recipients
from scheduler.service import JOBS_TABLE, job_store_engine, sync_once


def register(sub: Any, ctx: CliContext) -> None:
    for name, helptext in (
        ("agenda", "print (--dry-run) or post a team's standing agenda now"),
        ("digest", "print (--dry-run) or send a team's weekly digest now"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("team", help="team id, e.g. lincoln")
        p.add_argument("--dry-run", action="store_true", help="print it; send nothing")
        p.add_argument(
            "--at", help="as if it were this time (ISO 8601, e.g. 2026-11-24T13:00-06:00)"
        )
        p.add_argument("--database")
        p.set_defaults(func=partial(cmd_message, ctx=ctx), kind=name)
    jobs = sub.add_parser("jobs", help="list the scheduled jobs with their next run times")
    jobs.add_argument("--team", help="only this team's jobs")
    jobs.add_argument("--database")
    jobs.set_defaults(func=partial(cmd_jobs, ctx=ctx))


def _clock(at: str | None) -> Clock:
    if not at:
        return SystemClock()
    when = datetime.fromisoformat(at)
    return FixedClock(when if when.tzinfo else when.replace(tzinfo=UTC))


def print_message(msg: Message, out: Any = None) -> None:
    out = out or sys.stdout
    out.write(msg.plain() + "\n")


def cmd_message(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings(args)
    upgrade(settings.database_url)
    platforms = ctx.enabled(settings)
    names = " or ".join(p.label for p in ctx.platforms)
    return asyncio.run(
        _message(settings, platforms, names, args.kind, args.team, args.dry_run, _clock(args.at))
    )


async def _dry_run(s: AsyncSession, kind: str, team: Team, now: datetime) -> None:
    """Print what would be sent, as each reader would read it (language, timezone)."""
    d = Directory(s)
    if kind == "agenda":
        reader = await d.team_reader(team)
        with i18n.speaking(reader):
            msg = await build_agenda(s, team, now)
        print(f"To: the {team.name} channel ({reader.language})\n")
        print_message(msg)
        return
    by_reader: dict[i18n.Reader, list[str]] = {}
    for pid in await digest_recipients(s, team):
        person = await s.get(Person, pid)
        if person is not None:
            by_reader.setdefault(await d.person_reader(person), []).append(person.name)
    if not by_reader:
        print("To: nobody (no lead or liaison)\n")
        by_reader[await d.team_reader(team)] = []
    for n, (reader, people) in enumerate(by_reader.items()):
        with i18n.speaking(reader):
            msg = await build_digest(s, team, now)
        if people:
            print(("\n" if n else "") + f"To: {', '.join(people)} ({reader.language})\n")
        print_message(msg)


async def _message(
    settings: Settings,
    platforms: tuple[PlatformInfo, ...],
    names: str,
    kind: str,
    team_id: str,
    dry: bool,
    clock: Clock,
) -> int:
    db = Database(settings.database_url)
    try:
        now = clock.now()
        async with db.transaction() as s:
            team = await s.get(Team, team_id)
            if team is None or not team.active:
                print(f"There is no active team '{team_id}'.", file=sys.stderr)
                return 1
            if dry:
                await _dry_run(s, kind, team, now)
                return 0
        if not platforms:
            print(
                f"No platform is configured in this environment ({names}), "
                "so nothing could be delivered. Use --dry-run to see it.",
                file=sys.stderr,
            )
            return 1
        rt = Runtime(db, clock, Fanout(platforms=platforms))
        n = await run_job(rt, kind, team_id)
        print(
            f"{ngettext('%(num)d message', '%(num)d messages', n)} queued; a running Looplink server delivers them."
        )
        return 0
    finally:
        await db.close()


def cmd_jobs(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings(args)
    upgrade(settings.database_url)
    return asyncio.run(_jobs(settings, args.team))


async def _jobs(settings: Settings, team: str | None) -> int:
    db = Database(settings.database_url)
    try:
        async with db.transaction() as s:
            desired = [j for j in await desired_jobs(s) if team is None or j.team_id == team]
        stored = await stored_next_runs(db)
    finally:
        await db.close()
    now = datetime.now(UTC)
    if stored is None:
        print(
            "No scheduler has run on this database yet: next runs are computed from the schedules."
        )
    rows = [_row(j, stored, now) for j in desired]
    stale = sorted(set(stored or {}) - {j.id for j in desired})
    width = max([len(r[0]) for r in rows] + [3])
    print(f"{'JOB':<{width}}  {'NEXT RUN (team time)':<28}  SCHEDULE")
    for job_id, when, schedule in rows:
        print(f"{job_id:<{width}}  {when:<28}  {schedule}")
    for job_id in stale if team is None else []:
        print(f"{job_id:<{width}}  {'(removed at the next sync)':<28}")
    print(ngettext("%(num)d job.", "%(num)d jobs.", len(rows)))
    return 0


def _row(
    job: JobSpec, stored: dict[str, float | None] | None, now: datetime
) -> tuple[str, str, str]:
    tz = ZoneInfo(job.timezone)
    when: datetime | None
    if stored is not None and job.id in stored:
        ts = stored[job.id]
        when = datetime.fromtimestamp(ts, UTC) if ts is not None else None
    else:
        when = job.trigger().get_next_fire_time(None, now)
    shown = when.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z") if when else "(paused)"
    if stored is not None and job.id not in stored:
        shown += " (new)"  # not in the job store yet: the running scheduler adds it soon
    return job.id, shown, job.describe()


async def stored_next_runs(db: Database) -> dict[str, float | None] | None:
    """Job id -> next run time (UNIX time) from APScheduler's table; None if it has none."""

    def read() -> list[Any]:
        engine = job_store_engine(db.url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}")))
        finally:
            engine.dispose()

    try:
        rows = await asyncio.to_thread(read)  # the job store's own (blocking) connection
    except DBAPIError:
        return None
    return {str(r[0]): (float(r[1]) if r[1] is not None else None) for r in rows}


async def resync_after_apply(db: Database) -> None:
    """After `looplink org apply`: make the scheduled jobs match the new org file."""
    report = await sync_once(Runtime(db, SystemClock(), Fanout(platforms=())))
    if report is None:
        print("A running Looplink holds the scheduler; it picks up the new schedules by itself.")
    else:
        print(report.summary())
