"""`looplink org sync`: link the org file's people to their platform identities by email,
ahead of their first message.

Each platform that can look people up by email offers a `PeopleSource` (its running
`Platform.people()`): the places where Looplink is installed (Slack workspaces, Microsoft 365
tenants) and a lookup of emails there (Slack `users.lookupByEmail` with that workspace's
token; the roster of the installed teams in Teams). Here, under the identity rules of
bot/identity.py: only places the org file declares; only active people with an email and no
identity in that place yet; an id that is already someone's is never re-pointed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select

from bot.db.models import Person, Workspace
from bot.db.session import Database
from bot.identity import Identities
from bot.platform_info import PlatformInfo

log = logging.getLogger("looplink.sync")

Ids = tuple[tuple[str, str], ...]  # (org-file key, user id), the platform's preferred first


@dataclass(frozen=True)
class Place:
    """A workspace or tenant where Looplink is installed and can look people up."""

    value: str  # its id on the platform (a Slack team id, a tenant id)
    name: str = ""  # what the platform calls it
    within: tuple[str, ...] = ()  # larger places it belongs to (an Enterprise Grid org)


class LookupFailed(Exception):
    """The platform could not be asked about a place (the text says why)."""


class PeopleSource(Protocol):
    """A platform's directory, as far as `looplink org sync` needs it."""

    info: PlatformInfo

    async def places(self) -> list[Place]:
        """Where Looplink is installed (and can look people up) on this platform."""
        ...

    async def lookup(self, place: Place, emails: Sequence[str]) -> dict[str, Ids]:
        """The ids of the users of `place` with these emails, by lower-case email; emails
        nobody there has are left out. Raises LookupFailed when the place cannot be asked."""
        ...


@dataclass
class SyncReport:
    linked: list[tuple[str, str, str]] = field(default_factory=list)  # person, where, user id
    not_found: list[tuple[str, str]] = field(default_factory=list)  # person, where
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # person, where, why
    already: int = 0  # people who already had an identity there
    notes: list[str] = field(default_factory=list)  # places skipped, and why

    def lines(self) -> list[str]:
        out = [f"linked     {p:<16} {where}: {uid}" for p, where, uid in self.linked]
        missing: dict[str, list[str]] = {}
        for p, where in self.not_found:
            missing.setdefault(where, []).append(p)
        out += [f"not found  {where}: {', '.join(ps)}" for where, ps in missing.items()]
        out += [f"not linked {p:<16} {where}: {why}" for p, where, why in self.kept]
        out += self.notes
        out.append(
            f"{len(self.linked)} linked, {len(self.not_found)} not found, "
            f"{len(self.kept)} not linked, {self.already} already linked."
        )
        return out


async def sync_people(db: Database, sources: Sequence[PeopleSource]) -> SyncReport:
    report = SyncReport()
    for source in sources:
        for place in await source.places():
            await _sync_place(db, source, place, report)
    return report


async def _declared(db: Database, info: PlatformInfo, place: Place) -> Workspace | None:
    """The declared workspace `place` is (or belongs to), innermost first."""
    async with db.transaction() as s:
        rows = (
            await s.scalars(
                select(Workspace).where(
                    Workspace.platform == info.name,
                    Workspace.active.is_(True),
                    Workspace.value.in_([place.value, *place.within]),
                )
            )
        ).all()
    by_value = {w.value: w for w in rows}
    return next((by_value[v] for v in (place.value, *place.within) if v in by_value), None)


async def _sync_place(db: Database, source: PeopleSource, place: Place, report: SyncReport) -> None:
    info = source.info
    ws = await _declared(db, info, place)
    label = f"{info.workspace_label or info.label} {place.name or place.value}"
    if ws is None:
        report.notes.append(
            f"skipped    {label} ({place.value}): not declared in the org file ('workspaces:'), "
            "so nobody there is linked"
        )
        return
    where = f"{info.label} {ws.name} ({place.value})"
    async with db.transaction() as s:
        people = (
            await s.scalars(
                select(Person)
                .where(Person.active.is_(True), Person.email.is_not(None), Person.email != "")
                .order_by(Person.id)
            )
        ).all()
        ids = Identities(s)
        wanted: list[tuple[str, str]] = []
        for p in people:
            if await ids.has_identity(info.name, p.id, [ws.value]):
                report.already += 1
            else:
                wanted.append((p.id, str(p.email)))
    if not wanted:
        return
    try:
        found = await source.lookup(place, [email for _p, email in wanted])
    except LookupFailed as e:
        report.notes.append(f"failed     {where}: {e}")
        return
    async with db.transaction() as s:
        ids = Identities(s)
        for pid, email in wanted:
            got = found.get(email.strip().lower())
            if not got:
                report.not_found.append((pid, where))
                continue
            person = await s.get(Person, pid)
            assert person is not None
            linked = await ids.link(info, person, got, ws.value)
            if linked is None:
                report.kept.append((pid, where, f"{got[0][1]} is already someone else's"))
            else:
                report.linked.append((pid, where, linked.value))
    log.info("org sync: %s looked up %d people", where, len(wanted))
