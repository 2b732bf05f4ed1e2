"""Apply an OrgSpec to the database, idempotently.

Applying the same file twice changes nothing. A team or person removed from the file is
deactivated (never deleted), so the history of their items stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Membership, Person, PlatformId, Setting, Team
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
    await _apply_people(session, spec, ids, report)
    await _apply_teams(session, spec, ids, report)
    await _apply_members(session, spec, report)
    return report


async def _apply_settings(session: AsyncSession, spec: OrgSpec, report: ApplyReport) -> None:
    settings = {
        "organization": spec.organization,
        "timezone": spec.timezone,
        "calendar": {
            "weekends_pause": spec.calendar.weekends_pause,
            "holidays": [d.isoformat() for d in spec.calendar.holidays],
        },
        "org": spec.settings,
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
    """Every PlatformId row, to bring each owner's ids in line with the org file."""

    def __init__(self, session: AsyncSession, rows: list[PlatformId]) -> None:
        self.s = session
        self.rows: dict[tuple[str, str], dict[str, PlatformId]] = {}
        for r in rows:
            self.rows.setdefault((r.owner_kind, r.owner_id), {})[r.key] = r

    @classmethod
    async def load(cls, session: AsyncSession) -> _IdRows:
        return cls(session, list((await session.scalars(select(PlatformId))).all()))

    async def sync(self, kind: str, owner_id: str, wanted: tuple[IdSpec, ...]) -> bool:
        """Make the owner's ids exactly `wanted`; True when anything changed."""
        have = self.rows.get((kind, owner_id), {})
        changed = False
        for key, row in list(have.items()):
            if key not in {w.key for w in wanted}:
                await self.s.delete(row)
                changed = True
        for w in wanted:
            values = {"platform": w.platform, "rank": w.rank, "value": w.value, "scope": ""}
            existing = have.get(w.key)
            if existing is None:
                self.s.add(PlatformId(owner_kind=kind, owner_id=owner_id, key=w.key, **values))
                changed = True
            elif _sync(existing, values):
                changed = True
        return changed


async def _apply_people(
    session: AsyncSession, spec: OrgSpec, ids: _IdRows, report: ApplyReport
) -> None:
    people = {p.id: p for p in (await session.scalars(select(Person))).all()}
    for ps in spec.people:
        values: dict[str, Any] = {
            "name": ps.name,
            "email": ps.email,
            "language": ps.language,
            "active": True,
        }
        person = people.get(ps.id)
        if person is None:
            session.add(Person(id=ps.id, **values))
            await ids.sync("person", ps.id, ps.ids)
            report.added.append(f"person {ps.id}")
        elif _sync(person, values) | await ids.sync("person", ps.id, ps.ids):
            report.changed.append(f"person {ps.id}")
    wanted_people = {p.id for p in spec.people}
    for pid, person in people.items():
        if pid not in wanted_people and person.active:
            person.active = False
            report.deactivated.append(f"person {pid}")
    await session.flush()


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
            "meeting_schedule": ts.meeting_schedule,
            "agenda_before_minutes": ts.agenda_before_minutes,
            "digest_schedule": ts.digest_schedule,
            "extra": ts.extra,
            "active": True,
        }
        changed = _sync(teams[ts.id], team_values) | await ids.sync("team", ts.id, ts.channels)
        if changed and f"team {ts.id}" not in added:
            report.changed.append(f"team {ts.id}")
    wanted_teams = {t.id for t in spec.teams}
    for tid, team in teams.items():
        if tid not in wanted_teams and team.active:
            team.active = False
            report.deactivated.append(f"team {tid}")
    await session.flush()


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
