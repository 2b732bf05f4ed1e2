"""Apply an OrgSpec to the database, idempotently.

Applying the same file twice changes nothing. A team or person removed from the file is
deactivated (never deleted), so the history of their items stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Membership, Person, Setting, Team
from bot.orgfile import OrgSpec


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

    people = {p.id: p for p in (await session.scalars(select(Person))).all()}
    for ps in spec.people:
        values: dict[str, Any] = {
            "name": ps.name,
            "email": ps.email,
            "slack_id": ps.slack,
            "teams_id": ps.teams,
            "teams_aad_id": ps.teams_aad,
            "language": ps.language,
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
            "slack_channel": ts.slack_channel,
            "teams_channel": ts.teams_channel,
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
    return report
