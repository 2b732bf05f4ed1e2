"""Cron schedules in a team's timezone (5 fields, crontab day numbering)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CronError(ValueError):
    pass


def _dow_to_names(field: str) -> str:
    """Crontab counts Sunday as 0 (or 7); APScheduler counts Monday as 0. Use names."""

    def conv(token: str) -> str:
        if token.isdigit():
            n = int(token)
            if not 0 <= n <= 7:
                raise CronError(f"weekday {n} is out of range 0-7")
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
        raise CronError(f"expected 5 fields, found {len(fields)}")
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
        raise CronError(str(e)) from e
