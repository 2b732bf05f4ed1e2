"""Apply an OrgSpec to the database, idempotently.

Applying the same file twice changes nothing. A team or person removed from the file is
deactivated (never deleted), so the history of their items stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dircache
from bot.db.models import Membership, Person, PlatformId, Setting, Team, Workspace
from bot.orgfile import IdSpec, OrgSpec


@dataclass
class ApplyReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.deactivated)

    def counts(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.deactivated)} deactivated"

    def summary(self) -> str:
        if not self.changes:
            return "No changes: the database already matches the org file."
        out = []
        for label, rows in (
            ("added", self.added),
            ("changed", self.changed),
            ("deactivated", self.deactivated),
        ):
            if rows:
                out.append(f"{label} {len(rows)}: " + ", ".join(rows))
        return "\n".join(out)


def _sync(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


async def apply_org(session: AsyncSession, spec: OrgSpec) -> ApplyReport:
    report = ApplyReport()
    ids = await _IdRows.load(session)
    await _apply_settings(session, spec, report)
    await _apply_workspaces(session, spec, report)
    await _apply_people(session, spec, ids, report)
    await _apply_teams(session, spec, ids, report)
    await _apply_members(session, spec, report)
    await dircache.directory_changed(session)  # every process's directory cache starts again
    return report


async def _apply_workspaces(session: AsyncSession, spec: OrgSpec, report: ApplyReport) -> None:
    """The declared workspaces; one no longer declared is deactivated: its people and
    channels are strangers from then on (their ids are kept, for the history)."""
    have = {(w.platform, w.value): w for w in (await session.scalars(select(Workspace))).all()}
    wanted = {(w.platform, w.value): w for w in spec.workspaces}
    for key, ws in wanted.items():
        row = have.get(key)
        if row is None:
            session.add(Workspace(platform=ws.platform, value=ws.value, name=ws.id, active=True))
            report.added.append(f"workspace {ws.id}")
        elif _sync(row, {"name": ws.id, "active": True}):
            report.changed.append(f"workspace {ws.id}")
    for key, row in have.items():
        if key not in wanted and row.active:
            row.active = False
            report.deactivated.append(f"workspace {row.name}")
    await session.flush()


async def _apply_settings(session: AsyncSession, spec: OrgSpec, report: ApplyReport) -> None:
    settings = {
        "organization": spec.organization,
        "timezone": spec.timezone,
        "calendar": {
            "weekends_pause": spec.calendar.weekends_pause,
            "holidays": [d.isoformat() for d in spec.calendar.holidays],
        },
        "org": spec.settings,
        "admins": list(spec.admins),
        "language": spec.language,
    }
    existing_settings = {s.key: s for s in (await session.scalars(select(Setting))).all()}
    for name, value in settings.items():
        row = existing_settings.get(name)
        if row is None:
            session.add(Setting(key=name, value=value))
            report.added.append(f"setting {name}")
        elif row.value != value:
            row.value = value
            report.changed.append(f"setting {name}")


class _IdRows:
    """Every PlatformId row, to bring the org file's ids in line with the file.

    Rows the file gave (`origin` "org") are the file's to add, change and remove; rows learnt
    otherwise (an email match, an admin's link) are kept, unless the file gives their owner
    another id under that key in that workspace, or gives their id to another owner: the file
    wins. An id the file gives that is already there, however it was learnt, is no change.
    """

    def __init__(self, session: AsyncSession, rows: list[PlatformId]) -> None:
        self.s = session
        self.rows = rows

    @classmethod
    async def load(cls, session: AsyncSession) -> _IdRows:
        return cls(session, list((await session.scalars(select(PlatformId))).all()))

    async def sync(self, kind: str, wanted: dict[str, tuple[IdSpec, ...]]) -> set[str]:
        """Make the ids of every `kind` owner match `wanted`; returns the owners changed.

        Rows that go are deleted (and flushed) before any is added, so an id may move from one
        owner to another, or two owners swap ids, in one apply.
        """
        specs = {(o, w.key, w.scope): w for o, ws in wanted.items() for w in ws}
        taken = {(w.platform, w.scope, w.value): o for o, ws in wanted.items() for w in ws}
        changed: set[str] = set()
        keep: set[tuple[str, str, str]] = set()
        for row in [r for r in self.rows if r.owner_kind == kind]:
            spec = specs.get((row.owner_id, row.key, row.scope))
            same = spec is not None and (spec.platform, spec.value, spec.rank) == (
                row.platform,
                row.value,
                row.rank,
            )
            holder = taken.get((row.platform, row.scope, row.value))
            if same:
                keep.add((row.owner_id, row.key, row.scope))
                continue
            given_elsewhere = holder is not None and holder != row.owner_id
            in_file = row.owner_id in wanted  # others (deactivated) keep theirs
            if (in_file and (row.origin == "org" or spec is not None)) or given_elsewhere:
                await self.s.delete(row)
                self.rows.remove(row)
                changed.add(row.owner_id)
        await self.s.flush()
        for (owner, key, scope), w in specs.items():
            if (owner, key, scope) in keep:
                continue
            row = PlatformId(
                owner_kind=kind,
                owner_id=owner,
                key=key,
                scope=scope,
                platform=w.platform,
                rank=w.rank,
                value=w.value,
                origin="org",
            )
            self.s.add(row)
            self.rows.append(row)
            changed.add(owner)
        await self.s.flush()
        return changed


async def _apply_people(
    session: AsyncSession, spec: OrgSpec, ids: _IdRows, report: ApplyReport
) -> None:
    people = {p.id: p for p in (await session.scalars(select(Person))).all()}
    for ps in spec.people:
        values: dict[str, Any] = {
            "name": ps.name,
            "email": ps.email,
            "language": ps.language or "",
            "active": True,
        }
        person = people.get(ps.id)
        if person is None:
            session.add(Person(id=ps.id, **values))
            report.added.append(f"person {ps.id}")
        elif _sync(person, values):
            report.changed.append(f"person {ps.id}")
    wanted_people = {p.id for p in spec.people}
    for pid, person in people.items():
        if pid not in wanted_people and person.active:
            person.active = False
            report.deactivated.append(f"person {pid}")
    await session.flush()
    for pid in sorted(await ids.sync("person", {p.id: p.ids for p in spec.people})):
        _note_change(report, f"person {pid}")


async def _apply_teams(
    session: AsyncSession, spec: OrgSpec, ids: _IdRows, report: ApplyReport
) -> None:
    teams = {t.id: t for t in (await session.scalars(select(Team))).all()}
    # Insert teams without parents first so the foreign key always points at an existing row.
    for ts in spec.teams:
        if ts.id not in teams:
            team = Team(
                id=ts.id, name=ts.name, level=ts.level, timezone=ts.timezone, parent_id=None
            )
            session.add(team)
            teams[ts.id] = team
            report.added.append(f"team {ts.id}")
    await session.flush()
    added = set(report.added)
    for ts in spec.teams:
        team_values: dict[str, Any] = {
            "name": ts.name,
            "level": ts.level,
            "parent_id": ts.parent,
            "response_days": ts.response_days,
            "timezone": ts.timezone,
            "language": ts.language,
            "meeting_schedule": ts.meeting_schedule,
            "agenda_before_minutes": ts.agenda_before_minutes,
            "digest_schedule": ts.digest_schedule,
            "extra": ts.extra,
            "active": True,
        }
        if _sync(teams[ts.id], team_values) and f"team {ts.id}" not in added:
            report.changed.append(f"team {ts.id}")
    wanted_teams = {t.id for t in spec.teams}
    for tid, team in teams.items():
        if tid not in wanted_teams and team.active:
            team.active = False
            report.deactivated.append(f"team {tid}")
    await session.flush()
    for tid in sorted(await ids.sync("team", {t.id: t.channels for t in spec.teams})):
        _note_change(report, f"team {tid}")


def _note_change(report: ApplyReport, what: str) -> None:
    """`what`'s ids changed: a change, unless it is already reported (added, changed, gone)."""
    if what not in report.added and what not in report.changed and what not in report.deactivated:
        report.changed.append(what)


async def _apply_members(session: AsyncSession, spec: OrgSpec, report: ApplyReport) -> None:
    members = {
        (m.team_id, m.person_id): m for m in (await session.scalars(select(Membership))).all()
    }
    wanted_members: set[tuple[str, str]] = set()
    for ts in spec.teams:
        for ms in ts.members:
            key = (ts.id, ms.person)
            wanted_members.add(key)
            m = members.get(key)
            if m is None:
                session.add(
                    Membership(team_id=ts.id, person_id=ms.person, role=ms.role, active=True)
                )
                report.added.append(f"member {ms.person}@{ts.id}")
            elif _sync(m, {"role": ms.role, "active": True}):
                report.changed.append(f"member {ms.person}@{ts.id}")
    for (team_id, person_id), m in members.items():
        if (team_id, person_id) not in wanted_members and m.active:
            m.active = False
            report.deactivated.append(f"member {person_id}@{team_id}")
    await session.flush()
