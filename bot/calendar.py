"""The response clock: working days in a team's timezone, paused on weekends and holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkCalendar:
    weekends_pause: bool = True
    holidays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if self.weekends_pause and day.weekday() >= 5:
            return False
        return day not in self.holidays

    def due_date(self, start: datetime, working_days: int, timezone: str) -> datetime:
        """The end (23:59 local) of the Nth working day after `start`'s local date.

        Reported on a Friday with 2 working days and weekends paused: due Tuesday 23:59.
        """
        tz = ZoneInfo(timezone)
        day = start.astimezone(tz).date()
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, time(23, 59), tzinfo=tz)

    def working_days_between(self, start: datetime, end: datetime, timezone: str) -> int:
        """Whole working days from start's local date to end's local date (0 if same day)."""
        tz = ZoneInfo(timezone)
        a, b = start.astimezone(tz).date(), end.astimezone(tz).date()
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        n = 0
        while a < b:
            a += timedelta(days=1)
            if self.is_working_day(a):
                n += 1
        return sign * n
