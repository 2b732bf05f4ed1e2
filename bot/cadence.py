"""A cron schedule as people say it: the parts of "first Wednesday of each month at 10:00,
agenda the day before". The words are in the templates; this only reads the cron."""

from __future__ import annotations

from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMBERED = {"0": "sun", "7": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu"}
_NUMBERED |= {"5": "fri", "6": "sat"}
_WEEKS = {"1-7": 1, "8-14": 2, "15-21": 3, "22-28": 4}


@dataclass(frozen=True)
class Cadence:
    """kind: "daily", "weekly" (on `weekdays`), "nth" (the `nth` `weekdays[0]` of each
    month), "monthly" (on day `day`), or "cron" (anything else: shown as written)."""

    kind: str
    cron: str
    time: str = ""  # "10:00"
    weekdays: tuple[str, ...] = ()
    nth: int = 0
    day: int = 0


@dataclass(frozen=True)
class Lead:
    """How long before a meeting its agenda goes out: `amount` `unit` (minutes, hours, days);
    "day" with amount 1 reads "the day before"."""

    amount: int
    unit: str


def _weekday(token: str) -> str | None:
    t = token.lower()[:3]
    return t if t in DAYS else _NUMBERED.get(token)


def _weekdays(field: str) -> tuple[str, ...] | None:
    out: list[str] = []
    for piece in field.split(","):
        ends = piece.split("-")
        if len(ends) == 1:
            day = _weekday(piece)
            if day is None:
                return None
            out.append(day)
            continue
        first, last = (_weekday(e) for e in ends[:2])
        if first is None or last is None or len(ends) != 2:
            return None
        i, j = DAYS.index(first), DAYS.index(last)
        out.extend(DAYS[i : j + 1] if i <= j else ())
    return tuple(out) or None


def cadence(cron: str | None) -> Cadence | None:
    if not cron or not cron.strip():
        return None
    fields = cron.split()
    raw = Cadence("cron", cron.strip())
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()) or fields[3] != "*":
        return raw
    minute, hour, day, _month, dow = fields
    if int(hour) > 23 or int(minute) > 59:
        return raw
    time = f"{int(hour):02d}:{int(minute):02d}"
    days = None if dow == "*" else _weekdays(dow)
    if day == "*" and dow == "*":
        return Cadence("daily", cron, time)
    if day == "*" and days:
        return Cadence("weekly", cron, time, days)
    if day in _WEEKS and days and len(days) == 1:
        return Cadence("nth", cron, time, days, nth=_WEEKS[day])
    if day.isdigit() and 1 <= int(day) <= 31 and dow == "*":
        return Cadence("monthly", cron, time, day=int(day))
    return raw


def lead(minutes: int | str | None) -> Lead | None:
    if isinstance(minutes, str):
        minutes = int(minutes) if minutes.strip().isdigit() else None
    if minutes is None:
        return None
    if minutes and minutes % 1440 == 0:
        return Lead(minutes // 1440, "day")
    if minutes and minutes % 60 == 0:
        return Lead(minutes // 60, "hour")
    return Lead(minutes, "minute")
