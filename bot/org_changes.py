"""Who changed the organisation, and which of the console's edits the org file replaces.

**The org file wins.** Edits made in the admin console go straight into the tables `looplink
org apply` writes, so the organisation, the loop and `looplink org export` see them at once.
They last until the org file is applied again: that apply makes the organisation match the
file, replacing the console edits made since the last apply, and lists those it undid (the
command prints them; the console shows them beforehand as "edits not yet in the org file";
an edit the file already has, e.g. exported, is not undone). A server
start applies its org file only when the file changed since it was last applied, or when there
is no console edit to keep, so a restart never undoes the console. To keep console edits for
good, export the organisation into the org file (`looplink org export`).

Every change is an `OrgChange` row: one per console save, one per apply that changed
something.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OrgChange, Setting
from bot.org_apply import ApplyReport, apply_org
from bot.org_doc import take_turn
from bot.orgfile import OrgSpec

CONSOLE = "console"
FILE = "file"
APPLIED_KEY = "org_file_applied"  # the settings row: the sha256 of the file applied last


def file_digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


async def record(
    session: AsyncSession,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    changes: Sequence[Sequence[Any]],
    source: str = CONSOLE,
) -> OrgChange:
    row = OrgChange(
        at=at,
        actor=actor[:200],
        source=source,
        action=action,
        entity=entity[:140],
        changes=[list(c) for c in changes],
    )
    session.add(row)
    await session.flush()
    return row


async def since_last_apply(session: AsyncSession) -> list[OrgChange]:
    """The console's edits made since the org file was last applied (oldest first)."""
    last = await session.scalar(select(func.max(OrgChange.id)).where(OrgChange.source == FILE))
    q = select(OrgChange).where(OrgChange.source == CONSOLE)
    if last is not None:
        q = q.where(OrgChange.id > last)
    return list((await session.scalars(q.order_by(OrgChange.id))).all())


async def recent(session: AsyncSession, limit: int = 50) -> list[OrgChange]:
    q = select(OrgChange).order_by(OrgChange.id.desc()).limit(limit)
    return list((await session.scalars(q)).all())


@dataclass
class FileApply:
    report: ApplyReport
    replaced: list[OrgChange]  # console edits this apply replaced (made since the last one)


async def apply_file(
    session: AsyncSession, spec: OrgSpec, at: datetime, digest: str, actor: str = "org apply"
) -> FileApply:
    """Apply the org file (it wins over the console) and record it, with what it replaced."""
    await take_turn(session)
    pending = await since_last_apply(session)
    report = await apply_org(session, spec)
    replaced = [c for c in pending if _undone(c.entity, report)]
    changes = [
        [what, label]
        for label, rows in (
            ("added", report.added),
            ("changed", report.changed),
            ("deactivated", report.deactivated),
        )
        for what in rows
    ]
    if changes or pending or await applied_digest(session) != digest:
        await record(session, at, actor, "apply", "org file", changes, source=FILE)
    await _remember(session, digest)
    return FileApply(report, replaced)


def _undone(entity: str, report: ApplyReport) -> bool:
    """Whether the apply changed what a console edit changed (else the file already has it,
    e.g. it was exported after the edit)."""
    kind, _, ident = entity.partition(":")
    touched = [*report.added, *report.changed, *report.deactivated]
    if kind == "team":
        return any(t == f"team {ident}" or t.endswith(f"@{ident}") for t in touched)
    if kind == "person":
        return any(t == f"person {ident}" or t.startswith(f"member {ident}@") for t in touched)
    if kind == "calendar":
        return "setting calendar" in touched
    return bool(touched)


async def applied_digest(session: AsyncSession) -> str | None:
    row = await session.get(Setting, APPLIED_KEY)
    return str(row.value.get("sha256")) if row is not None and row.value else None


async def _remember(session: AsyncSession, digest: str) -> None:
    row = await session.get(Setting, APPLIED_KEY)
    if row is None:
        session.add(Setting(key=APPLIED_KEY, value={"sha256": digest}))
    elif row.value != {"sha256": digest}:
        row.value = {"sha256": digest}


async def keep_console_edits(session: AsyncSession, digest: str) -> int:
    """At a server start: how many console edits to keep by not applying an unchanged file
    (0: apply it)."""
    if await applied_digest(session) != digest:
        return 0
    return len(await since_last_apply(session))


def describe(change: OrgChange) -> str:
    """One line for a log or a terminal: when, who, what."""
    at = change.at.strftime("%Y-%m-%d %H:%M")
    fields = ", ".join(str(c[0]) for c in change.changes) or change.action
    return f"{at} {change.actor}: {change.action} {change.entity} ({fields})"
