"""What a job's producer gets (`Run`) and returns (`Send`): the scheduler's small vocabulary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.batch import SharedSections
from bot.db.models import Team
from bot.messages import Message
from bot.metrics import SharedStats
from bot.runtime import Runtime
from bot.schedule import TICK, last_fire_at_or_before
from scheduler.config import JobSpec


@dataclass
class Send:
    dest_kind: str  # "team" or "person"
    dest_id: str
    # the message, or what builds it: called in the reader's language and timezone (the
    # team's for a channel, the person's for a DM), so each reader reads their own language
    message: Message | Callable[[], Message] | Callable[[], Awaitable[Message]]
    track: dict[str, Any] = field(default_factory=dict)
    tag: str = ""  # tells apart several messages to one destination in one run
    update_key: str | None = None  # a message later edited in place (e.g. answered buttons)

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

    @property
    def batch(self) -> SharedSections | None:
        """Scheduled runs share all teams' digest and agenda sections for the minute."""
        return SHARED_SECTIONS if self.scheduled is not None else None

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
SHARED_SECTIONS = SharedSections()
