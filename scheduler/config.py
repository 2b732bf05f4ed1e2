"""Which jobs each team has, when they fire and how long a late run is still worth sending.

Everything comes from the database (the applied org file), so a re-sync after `org apply`
moves changed schedules, drops removed or deactivated teams' jobs and adds new ones.

Org-wide settings (the org file's `settings:`), each overridable per team where noted:

    settings:
      follow_up_weeks: 4                        # team key `follow_up_weeks` overrides
      nudges: {schedule: "0 9 * * *", remind_before_days: 1, flag_after_days: 2}
      recognition: {schedule: "0 14 * * fri"}   # team key `recognition` overrides; `off` disables
      progress: {schedule: "0 9 1-7 * mon"}     # team key `progress` overrides; `off` disables
      follow_up: {schedule: "30 9 * * *"}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Setting, Team
from bot.schedule import CronError, parse_cron
from scheduler.triggers import AgendaTrigger

log = logging.getLogger("looplink.scheduler")

KINDS = ("agenda", "digest", "roundup", "progress", "nudges", "follow_up", "pulse")

DEFAULT_SCHEDULES = {
    "roundup": "0 14 * * fri",  # Friday afternoon: the week's recognition
    "progress": "0 9 1-7 * mon",  # the first Monday of each month
    "nudges": "0 9 * * *",  # every morning; skipped on non-working days
    "follow_up": "30 9 * * *",  # every morning; skipped on non-working days
    "pulse": "0 10 1-7 1,4,7,10 mon",  # the first Monday of each quarter: the protocol pulse
}
HOUR = 3600
# How late a run may start and still be worth sending (misfire_grace_time), per kind.
# The agenda's grace is its lead time: an agenda is useful until the meeting starts.
GRACE = {
    "digest": 12 * HOUR,  # a Monday-morning digest is still worth reading that afternoon
    "roundup": 12 * HOUR,
    "progress": 12 * HOUR,
    "nudges": 6 * HOUR,  # within working hours; tomorrow's sweep covers anything later
    "follow_up": 6 * HOUR,
    "pulse": 12 * HOUR,
}
MIN_AGENDA_GRACE = 5 * 60
DEFAULT_FOLLOW_UP_WEEKS = 4
VERSION = "v1"  # bump when a job's meaning changes, so every stored job is replaced


@dataclass(frozen=True)
class JobSpec:
    kind: str
    team_id: str
    cron: str
    timezone: str
    before_minutes: int = 0

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.team_id}"

    @property
    def spec(self) -> str:
        """A fingerprint stored with the job: a changed fingerprint means replace the job."""
        return f"{VERSION}|{self.cron}|{self.timezone}|{self.before_minutes}|{self.grace}"

    @property
    def grace(self) -> int:
        if self.kind == "agenda":
            return max(MIN_AGENDA_GRACE, self.before_minutes * 60)
        return GRACE[self.kind]

    def trigger(self) -> BaseTrigger:
        cron = parse_cron(self.cron, self.timezone)
        if self.kind == "agenda":
            return AgendaTrigger(cron, self.before_minutes)
        return cron

    def describe(self) -> str:
        if self.kind == "agenda":
            return f'{self.before_minutes} min before meetings "{self.cron}" ({self.timezone})'
        return f'"{self.cron}" ({self.timezone})'


def _block(value: Any) -> dict[str, Any] | None:
    """A schedule block from settings: a mapping, `off`/false (None), or absent ({})."""
    if value is None:
        return {}
    if value is False or (isinstance(value, str) and value.lower() in ("off", "no", "false")):
        return None
    if isinstance(value, dict):
        if value.get("enabled", True) is False:
            return None
        return value
    if isinstance(value, str):  # a bare cron string
        return {"schedule": value}
    return {}


def _schedule(kind: str, team: Team, org: dict[str, Any]) -> str | None:
    """The cron for a team's optional job, or None when it is switched off."""
    key = "recognition" if kind == "roundup" else kind  # the org-file name of the roundup
    team_block = _block((team.extra or {}).get(key))
    org_block = _block(org.get(key))
    if team_block is None or (org_block is None and not team_block):
        return None
    cron = (team_block or {}).get("schedule") or (org_block or {}).get("schedule")
    return str(cron or DEFAULT_SCHEDULES[kind])


def team_jobs(team: Team, org: dict[str, Any]) -> list[JobSpec]:
    """The jobs one active team should have."""
    if not team.active:
        return []
    tz = team.timezone
    out: list[JobSpec] = []
    if team.meeting_schedule:
        out.append(
            JobSpec("agenda", team.id, team.meeting_schedule, tz, team.agenda_before_minutes)
        )
    if team.digest_schedule:
        out.append(JobSpec("digest", team.id, team.digest_schedule, tz))
    for kind in ("roundup", "progress", "nudges", "follow_up", "pulse"):
        cron = _schedule(kind, team, org)
        if cron is not None:
            out.append(JobSpec(kind, team.id, cron, tz))
    valid = []
    for job in out:
        try:
            job.trigger()
        except CronError as e:  # never crash the scheduler over one bad schedule
            log.warning(
                "team %s: %s schedule %r is not valid (%s); skipped", team.id, job.kind, job.cron, e
            )
            continue
        valid.append(job)
    return valid


async def org_settings(s: AsyncSession) -> dict[str, Any]:
    row = await s.get(Setting, "org")
    return dict(row.value or {}) if row is not None and isinstance(row.value, dict) else {}


async def desired_jobs(s: AsyncSession) -> list[JobSpec]:
    org = await org_settings(s)
    teams = (await s.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.id))).all()
    return [job for team in teams for job in team_jobs(team, org)]


def _int(value: Any, default: int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return default
    return n if n >= 0 else default


def nudge_settings(team: Team, org: dict[str, Any]) -> tuple[int, int]:
    """(remind_before_days, flag_after_days) for items held by `team`.

    flag_after_days is how many working days past due an item may be before it is flagged to
    the team above: the team's own agreed time if set (team key `nudges`), else the org's,
    else the team's agreed response time in working days.
    """
    team_block = (team.extra or {}).get("nudges") or {}
    org_block = org.get("nudges") or {}
    if not isinstance(team_block, dict):
        team_block = {}
    if not isinstance(org_block, dict):
        org_block = {}
    remind = team_block.get("remind_before_days", org_block.get("remind_before_days", 1))
    flag = team_block.get("flag_after_days", org_block.get("flag_after_days"))
    return _int(remind, 1), _int(flag, team.response_days)


def follow_up_weeks(team: Team, org: dict[str, Any]) -> int:
    value = (team.extra or {}).get("follow_up_weeks", org.get("follow_up_weeks"))
    return max(1, _int(value, DEFAULT_FOLLOW_UP_WEEKS))


def run_key(kind: str, team_id: str, scheduled: datetime, timezone: str) -> str:
    """The ledger key of one scheduled run: job, team and the fire time as local wall time.

    Wall time, minute precision: the two instants of a repeated DST hour (01:30 CDT and
    01:30 CST) are one scheduled minute, so the job runs once, not twice.
    """
    from zoneinfo import ZoneInfo

    local = scheduled.astimezone(ZoneInfo(timezone))
    return f"{kind}:{team_id}:{local.strftime('%Y-%m-%dT%H:%M')}"
