"""What an admin can see and do about messages the platforms refused.

`looplink outbox list|retry|discard` and the dashboard use these. A row leaves the outbox only
by delivery or by an admin's recorded decision (`discard`, with a reason): never silently.

Anonymity: a direct message may be the answer to an anonymous reporter. The dashboard never
shows whose direct messages wait (`anonymous_safe`); the command line, run by whoever runs the
database, shows the person so they can correct the org file, but never a direct message's text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Outbox, Person, Team
from bot.messages import Message

log = logging.getLogger("looplink.outbox")

WAITING = ("parked", "failed")  # waiting for an admin
STATUS_LABELS = {
    "parked": "waiting for a fix (retried every few minutes)",
    "failed": "refused for good (retry or discard it)",
    "pending": "being delivered",
    "discarded": "discarded",
}


@dataclass(frozen=True)
class Undelivered:
    id: int
    platform: str
    dest_kind: str  # "team" or "person"
    dest_id: str
    dest_name: str
    status: str
    attempts: int
    since: datetime
    error: str
    fix: str
    preview: str  # the message's first line; empty for direct messages
    discard_reason: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


async def undelivered(
    s: AsyncSession, statuses: Sequence[str] = WAITING, limit: int = 500
) -> list[Undelivered]:
    rows = (
        await s.scalars(
            select(Outbox).where(Outbox.status.in_(statuses)).order_by(Outbox.id).limit(limit)
        )
    ).all()
    teams = {r.dest_id for r in rows if r.dest_kind == "team"}
    people = {r.dest_id for r in rows if r.dest_kind == "person"}
    names: dict[tuple[str, str], str] = {}
    if teams:
        for t in await s.scalars(select(Team).where(Team.id.in_(teams))):
            names[("team", t.id)] = t.name
    if people:
        for p in await s.scalars(select(Person).where(Person.id.in_(people))):
            names[("person", p.id)] = p.name
    out = []
    for r in rows:
        preview = ""
        if r.dest_kind == "team":
            m = Message.from_json(r.payload)
            preview = next((line for line in (m.title, m.text) if line), "").split("\n")[0]
        out.append(
            Undelivered(
                id=r.id,
                platform=r.platform,
                dest_kind=r.dest_kind,
                dest_id=r.dest_id,
                dest_name=names.get((r.dest_kind, r.dest_id), r.dest_id),
                status=r.status,
                attempts=r.attempts,
                since=r.parked_at or r.created_at,
                error=r.last_error,
                fix=r.fix,
                preview=preview[:160],
                discard_reason=r.discard_reason,
            )
        )
    return out


def anonymous_safe(rows: list[Undelivered]) -> list[Undelivered]:
    """The rows as the dashboard may show them: whose direct message it is, never."""
    return [
        r
        if r.dest_kind == "team"
        else Undelivered(
            id=r.id,
            platform=r.platform,
            dest_kind=r.dest_kind,
            dest_id="",
            dest_name="a direct message",
            status=r.status,
            attempts=r.attempts,
            since=r.since,
            error=r.error,
            fix=r.fix,
            preview="",
        )
        for r in rows
    ]


async def retry(s: AsyncSession, ids: Sequence[int] | None, now: datetime) -> list[int]:
    """Make parked or failed rows (all of them when `ids` is None) due now; their ids."""
    q = select(Outbox.id).where(Outbox.status.in_(WAITING))
    if ids is not None:
        q = q.where(Outbox.id.in_(list(ids)))
    chosen = list((await s.scalars(q.order_by(Outbox.id))).all())
    if chosen:
        await s.execute(
            update(Outbox)
            .where(Outbox.id.in_(chosen), Outbox.status.in_(WAITING))
            .values(status="pending", next_attempt_at=now, fix="")
            .execution_options(synchronize_session=False)
        )
        log.info("outbox: an admin retried %s", ", ".join(map(str, chosen)))
    return chosen


async def discard(s: AsyncSession, ids: Sequence[int], reason: str, now: datetime) -> list[int]:
    """Give up on parked or failed rows, recording why; their ids."""
    reason = reason.strip()
    if not reason:
        raise ValueError("say why the messages are discarded (--reason)")
    chosen = list(
        (
            await s.scalars(
                select(Outbox.id)
                .where(Outbox.id.in_(list(ids)), Outbox.status.in_(WAITING))
                .order_by(Outbox.id)
            )
        ).all()
    )
    if chosen:
        await s.execute(
            update(Outbox)
            .where(Outbox.id.in_(chosen), Outbox.status.in_(WAITING))
            .values(status="discarded", discarded_at=now, discard_reason=reason[:1000])
            .execution_options(synchronize_session=False)
        )
        log.warning("outbox: an admin discarded %s: %s", ", ".join(map(str, chosen)), reason)
    return chosen
