"""Cron schedules in a team's timezone (5 fields, crontab day numbering) and fire times.

All arithmetic on fire times is done in UTC (see scheduler.triggers for why it matters).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.i18n import N_, _

TICK = timedelta(microseconds=1)

_DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CronError(ValueError):
    pass


def _dow_to_names(field: str) -> str:
    """Crontab counts Sunday as 0 (or 7); APScheduler counts Monday as 0. Use names."""

    def conv(token: str) -> str:
        if token.isdigit():
            n = int(token)
            if not 0 <= n <= 7:
                raise CronError(_("weekday %(n)s is out of range 0-7", n=n))
            return _DOW_NAMES[n]
        return token

    parts = []
    for piece in field.split(","):
        step = ""
        if "/" in piece:
            piece, step = piece.split("/", 1)
            step = "/" + step
        parts.append("-".join(conv(t) for t in piece.split("-")) + step)
    return ",".join(parts)


def parse_cron(expr: str, timezone: str) -> CronTrigger:
    fields = expr.split()
    if len(fields) != 5:
        raise CronError(_("expected 5 fields, found %(n)s", n=len(fields)))
    minute, hour, day, month, dow = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_dow_to_names(dow),
            timezone=ZoneInfo(timezone),
        )
    except CronError:
        raise
    except (ValueError, TypeError) as e:
        raise CronError(_bad_field(fields) or str(e)) from e


# The five fields of a cron schedule, as its problems name them.
_FIELDS = (
    ("minute", N_("minute")),
    ("hour", N_("hour")),
    ("day", N_("day of the month")),
    ("month", N_("month")),
    ("day_of_week", N_("weekday")),
)


def _bad_field(fields: list[str]) -> str | None:
    """Which field APScheduler refused, in the reader's language (its own message is English
    only): each field is tried alone."""
    for (key, label), value in zip(_FIELDS, fields, strict=True):
        try:
            given = _dow_to_names(value) if key == "day_of_week" else value
            CronTrigger(**{key: given})
        except (ValueError, TypeError):
            return _("the %(field)s field “%(value)s” is not valid", field=_(label), value=value)
    return None


def fires_between(trigger: BaseTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Fire times in (start, end], oldest first."""
    out: list[datetime] = []
    t = trigger.get_next_fire_time(None, start + TICK)
    while t is not None and t <= end:
        out.append(t)
        if len(out) > 10_000:  # a cron firing every minute over a week; never in practice
            break
        t = trigger.get_next_fire_time(t, t)
    return out


def last_fire_at_or_before(
    trigger: BaseTrigger,
    when: datetime,
    horizons: tuple[timedelta, ...] = (timedelta(days=8), timedelta(days=40), timedelta(days=400)),
) -> datetime | None:
    """The latest fire time <= `when`, looking back at most the longest horizon."""
    for h in horizons:
        fires = fires_between(trigger, when - h, when)
        if fires:
            return fires[-1]
    return None


def next_fire_after(trigger: BaseTrigger, when: datetime) -> datetime | None:
    """The first fire time strictly after `when`."""
    fire: datetime | None = trigger.get_next_fire_time(None, when + TICK)
    return fire
