"""The agenda trigger: a meeting's cron minus a lead time (fire-time arithmetic: bot.schedule).

All arithmetic on fire times is done in UTC. Adding a timedelta to an aware datetime in a
ZoneInfo timezone is *wall-clock* arithmetic in Python, which is wrong across a DST change:
"1440 minutes before 10:00 on the Sunday DST starts" is 09:00 local on Saturday (24 elapsed
hours), not 10:00 (which would be 23 hours). Converting to UTC first keeps it exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger


class AgendaTrigger(BaseTrigger):
    """Fires `minutes` (elapsed minutes) before each fire time of the meeting's CronTrigger.

    A wrapper rather than precomputed date triggers: nothing to refresh as meetings pass,
    the job store holds one small picklable object, and the meeting cron keeps doing the
    calendar work (month lengths, "first Wednesday", DST gaps and repeats) in the team's zone.
    """

    def __init__(self, meeting: CronTrigger, minutes: int) -> None:
        self.meeting = meeting
        self.minutes = int(minutes)

    @property
    def offset(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def timezone(self) -> tzinfo:
        tz: tzinfo = self.meeting.timezone
        return tz

    def meeting_for(self, fire_time: datetime) -> datetime:
        """The meeting an agenda fired at `fire_time` is for (in the team's timezone)."""
        return (fire_time.astimezone(UTC) + self.offset).astimezone(self.timezone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        prev_meeting = self.meeting_for(previous_fire_time) if previous_fire_time else None
        meeting = self.meeting.get_next_fire_time(
            prev_meeting, (now.astimezone(UTC) + self.offset).astimezone(self.timezone)
        )
        if meeting is None:
            return None
        fire: datetime = (meeting.astimezone(UTC) - self.offset).astimezone(self.timezone)
        return fire

    def __getstate__(self) -> dict[str, object]:
        return {"version": 1, "meeting": self.meeting, "minutes": self.minutes}

    def __setstate__(self, state: dict[str, object]) -> None:
        if int(str(state.get("version", 1))) > 1:
            raise ValueError(f"AgendaTrigger state version {state['version']} is newer than this")
        self.meeting = state["meeting"]
        self.minutes = int(str(state["minutes"]))

    def __str__(self) -> str:
        return f"agenda[{self.minutes} min before {self.meeting}]"

    def __repr__(self) -> str:
        return f"<AgendaTrigger minutes={self.minutes} meeting={self.meeting!r}>"
