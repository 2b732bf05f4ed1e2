"""Per-person limits on what one person can add: reports, kudos and agenda items.

Counted from the rows themselves (no counters to keep), per rolling window. The person's row
is locked first (PostgreSQL: SELECT ... FOR UPDATE), so parallel requests from one person
count one after another and the limit holds under concurrency; SQLite's transactions already
take turns. A refusal is a `TooMany` (a polite LoopError): the request changes nothing, and
nothing accepted before it is lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AgendaItem, Item, Kudos, Person
from bot.errors import LoopError
from bot.i18n import N_, _, ngettext
from bot.texts import texts


@dataclass(frozen=True)
class Limit:
    what: str  # as the person reads it: "reports", "kudos", "agenda items"
    count: int
    window: timedelta


REPORTS = (Limit("reports", 10, timedelta(minutes=10)), Limit("reports", 40, timedelta(days=1)))
KUDOS = (Limit("kudos", 10, timedelta(hours=1)),)
AGENDA = (Limit("agenda items", 20, timedelta(hours=1)),)

# What each limit counts: the table, who added the row, when.
_ROWS: dict[str, tuple[Any, Any]] = {
    "reports": (Item.reporter_id, Item.created_at),
    "kudos": (Kudos.giver_id, Kudos.created_at),
    "agenda items": (AgendaItem.added_by, AgendaItem.created_at),
}


class TooMany(LoopError):
    """Over a per-person limit; the text says how long to wait."""


_enabled = True


def configure(enabled: bool) -> None:
    """Turn flood protection (these limits and burst notices) on or off for this process:
    LOOPLINK_FLOOD_LIMITS=off, for load tests and bulk imports. On by default."""
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    return _enabled


async def check(s: AsyncSession, person_id: str, limits: tuple[Limit, ...], now: datetime) -> None:
    """Raise TooMany if `person_id` may not add one more now."""
    if not _enabled:
        return
    if s.get_bind().dialect.name == "postgresql":
        await s.execute(select(Person.id).where(Person.id == person_id).with_for_update())
    for limit in limits:
        who, when = _ROWS[limit.what]
        q = (
            select(when)
            .where(who == person_id, when > now - limit.window)
            .order_by(when.desc())
            .offset(limit.count - 1)
            .limit(1)
        )
        oldest_counted = (await s.scalars(q)).first()
        if oldest_counted is None:
            continue
        free_at = oldest_counted + limit.window
        minutes = max(1, math.ceil((free_at - now).total_seconds() / 60))
        raise TooMany(
            texts().render(
                "rate_limited",
                count=limit.count,
                what=_(WHAT[limit.what]),
                window=_window(limit.window),
                minutes=minutes,
            )
        )


WHAT = {"reports": N_("reports"), "kudos": N_("kudos"), "agenda items": N_("agenda items")}


def _window(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes % 1440 == 0:
        return ngettext("in the last day", "in the last %(num)d days", minutes // 1440)
    if minutes % 60 == 0:
        return ngettext("in the last hour", "in the last %(num)d hours", minutes // 60)
    return ngettext("in the last minute", "in the last %(num)d minutes", minutes)
