"""Dates as people type them: `2026-12-04`, `4 Dec`, `Dec 4 2026`, `12/4`, `tomorrow`, `friday`.

Used by `agenda action ... due ...`; the day is understood relative to `today` (a weekday or a
day without a year is the next one from today on)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from bot import i18n

MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january", "ene", "enero"),
            ("feb", "february", "febrero"),
            ("mar", "march", "marzo"),
            ("apr", "april", "abr", "abril"),
            ("may", "mayo"),
            ("jun", "june", "junio"),
            ("jul", "july", "julio"),
            ("aug", "august", "ago", "agosto"),
            ("sep", "sept", "september", "septiembre"),
            ("oct", "october", "octubre"),
            ("nov", "november", "noviembre"),
            ("dec", "december", "dic", "diciembre"),
        ),
        start=1,
    )
    for m in names
}
WEEKDAYS = {
    w: i
    for i, names in enumerate(
        (
            ("mon", "monday", "lunes"),
            ("tue", "tues", "tuesday", "martes"),
            ("wed", "wednesday", "miercoles", "miércoles"),
            ("thu", "thur", "thurs", "thursday", "jueves"),
            ("fri", "friday", "viernes"),
            ("sat", "saturday", "sabado", "sábado"),
            ("sun", "sunday", "domingo"),
        )
    )
    for w in names
}
ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?$")  # month/day[/year]


def shown(value: date | None) -> str:
    """A calendar day as people read it, in their language (bot.i18n.day)."""
    if value is None:
        return ""
    return i18n.day(datetime(value.year, value.month, value.day, 12, tzinfo=UTC), "UTC")


def _next(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 99 else 2000 + year, month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def parse_day(text: str, today: date) -> date | None:
    """The day `text` names, or None when it names none."""
    t = " ".join(text.strip().lower().replace(",", " ").split())
    t = t.removeprefix("next ").removeprefix("on ")
    if t in ("today", "hoy"):
        return today
    if t in ("tomorrow", "mañana", "manana"):
        return today + timedelta(days=1)
    if t in WEEKDAYS:
        ahead = (WEEKDAYS[t] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if m := ISO.match(t):
        return _next(today, int(m[2]), int(m[3]), int(m[1]))
    if m := SLASH.match(t):
        return _next(today, int(m[1]), int(m[2]), int(m[3]) if m[3] else None)
    words = t.split()
    if len(words) in (2, 3):
        year = int(words[2]) if len(words) == 3 and words[2].isdigit() else None
        if len(words) == 3 and year is None:
            return None
        a, b = words[0], words[1]
        if a.isdigit() and b in MONTHS:  # 4 dec
            return _next(today, MONTHS[b], int(a), year)
        if b.isdigit() and a in MONTHS:  # dec 4
            return _next(today, MONTHS[a], int(b), year)
    return None


def split_due(text: str, today: date) -> tuple[str, date | None, bool]:
    """`text` without its trailing `due DATE`, the date, and whether a `due` was there at all
    (so "due someday" is an error, not part of the text)."""
    head, sep, tail = text.rpartition(" due ")
    if not sep:
        if text.lower().startswith("due "):
            head, tail = "", text[4:]
        else:
            return text.strip(), None, False
    return head.strip(), parse_day(tail, today), True
