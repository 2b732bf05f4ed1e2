"""Read-side questions about the organisation: who is who, which team is above which."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dircache, i18n
from bot.calendar import WorkCalendar
from bot.db.models import Membership, Person, PlatformId, Setting, Team

T = TypeVar("T")


class Directory:
    """Org lookups within one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session
        self._teams: dict[str, Team] | None = None

    async def person(self, person_id: str) -> Person | None:
        return await self._cached(("person", person_id), lambda: self.s.get(Person, person_id))

    async def team(self, team_id: str) -> Team | None:
        if self._teams is not None and team_id in self._teams:
            return self._teams[team_id]
        return await self._cached(("team", team_id), lambda: self.s.get(Team, team_id))

    async def _cached(self, key: tuple[Any, ...], read: Callable[[], Awaitable[T]]) -> T:
        """The answer to `key` from the directory cache when this session may use it (see
        bot/dircache.py), else (and then remembered) what `read` answers."""
        view = dircache.view_of(self.s)
        if view is not None:
            hit = view.get(key)
            if not dircache.missing(hit):
                return cast(T, hit)
        value = await read()
        if view is not None:
            view.put(key, value)
        return value

    async def all_teams(self) -> dict[str, Team]:
        if self._teams is None:
            rows = (await self.s.scalars(select(Team))).all()
            self._teams = {t.id: t for t in rows}
        return self._teams

    async def chain_up(self, team_id: str) -> list[Team]:
        """The team and every linked team above it, bottom first, to the top.

        Walks up by primary key (the session's identity map answers repeats), so the cost is
        the depth of the chain, not the size of the organisation. The whole chain is walked
        (the org file keeps it to MAX_CHAIN_LEVELS); a loop in stored links ends the walk.
        """
        out: list[Team] = []
        seen: set[str] = set()
        cur: str | None = team_id
        while cur is not None and cur not in seen:
            team = self._teams.get(cur) if self._teams is not None else await self.team(cur)
            if team is None:
                break
            seen.add(cur)
            out.append(team)
            cur = team.parent_id
        return out

    async def children(self, team_id: str) -> list[Team]:
        return [t for t in (await self.all_teams()).values() if t.parent_id == team_id and t.active]

    async def memberships(self, person_id: str) -> list[Membership]:
        q = select(Membership).where(Membership.person_id == person_id, Membership.active.is_(True))
        return list((await self.s.scalars(q)).all())

    async def members(self, team_id: str) -> list[tuple[Person, str]]:
        q = (
            select(Person, Membership.role)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.team_id == team_id, Membership.active.is_(True), Person.active.is_(True)
            )
            .order_by(Person.name)
        )
        return [(p, r) for p, r in (await self.s.execute(q)).all()]

    async def member_count(self, team_id: str) -> int:
        return await self._cached(("member_count", team_id), lambda: self._member_count(team_id))

    async def _member_count(self, team_id: str) -> int:
        q = (
            select(func.count())
            .select_from(Membership)
            .where(Membership.team_id == team_id, Membership.active.is_(True))
        )
        return int((await self.s.scalar(q)) or 0)

    async def home_team(self, person_id: str) -> Team | None:
        """The team a person reports to: their lowest-level active team."""
        return await self._cached(("home_team", person_id), lambda: self._home_team(person_id))

    async def _home_team(self, person_id: str) -> Team | None:
        q = (
            select(Team)
            .join(Membership, Membership.team_id == Team.id)
            .where(
                Membership.person_id == person_id,
                Membership.active.is_(True),
                Team.active.is_(True),
            )
        )
        candidates = list((await self.s.scalars(q)).all())
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        depth = {t.id: len(await self.chain_up(t.id)) for t in candidates}
        return max(candidates, key=lambda t: (depth[t.id], t.id == candidates[0].id))

    async def role_in(self, person_id: str, team_id: str) -> str | None:
        m = await self.s.get(Membership, (team_id, person_id))
        return m.role if m is not None and m.active else None

    async def calendar(self) -> WorkCalendar:
        return await self._cached(("calendar",), self._calendar)

    async def _calendar(self) -> WorkCalendar:
        row = await self.s.get(Setting, "calendar")
        if row is None:
            return WorkCalendar()
        value = row.value or {}
        holidays = frozenset(date.fromisoformat(d) for d in value.get("holidays", []))
        return WorkCalendar(bool(value.get("weekends_pause", True)), holidays)

    # ---- languages (docs/translating.md "Whose language") --------------------------------

    async def org_language(self) -> str:
        return await self._cached(("org_language",), self._org_language)

    async def _org_language(self) -> str:
        row = await self.s.get(Setting, "language")
        return i18n.normalize(str(row.value) if row is not None else None) or i18n.SOURCE

    async def org_timezone(self) -> str:
        return await self._cached(("org_timezone",), self._org_timezone)

    async def _org_timezone(self) -> str:
        row = await self.s.get(Setting, "timezone")
        return str(row.value) if row is not None and row.value else "UTC"

    async def team_reader(self, team: Team | str) -> i18n.Reader:
        """How a team's channel reads: the team's language (else the organisation's), in the
        team's timezone."""
        t = await self.team(team) if isinstance(team, str) else team
        if t is None:
            return i18n.Reader(await self.org_language(), await self.org_timezone())
        lang = i18n.normalize(t.language) or await self.org_language()
        return i18n.Reader(lang, t.timezone)

    async def person_language(self, person: Person, locale: str | None = None) -> str:
        """What they chose in chat, else the org file's, else their platform's (`locale`, or
        the one last seen), else the organisation's."""
        for tag in (person.chosen_language, person.language, locale, person.platform_locale):
            lang = i18n.normalize(tag)
            if lang is not None:
                return lang
        return await self.org_language()

    async def person_reader(self, person: Person | str, locale: str | None = None) -> i18n.Reader:
        """How a person reads a direct message: their language, their home team's timezone."""
        p = await self.person(person) if isinstance(person, str) else person
        if p is None:
            return i18n.Reader(await self.org_language(), await self.org_timezone())
        home = await self.home_team(p.id)
        tz = home.timezone if home is not None else await self.org_timezone()
        return i18n.Reader(await self.person_language(p, locale), tz)

    async def reader(self, dest_kind: str, dest_id: str) -> i18n.Reader:
        """The reader of a message addressed to ("team" | "person", id)."""
        if dest_kind == "team":
            return await self.team_reader(dest_id)
        return await self.person_reader(dest_id)

    async def admins(self) -> list[str]:
        """The ids of the org file's `admins:` (active or not; see `is_admin`)."""
        return list(await self._cached(("admins",), self._admins))

    async def _admins(self) -> list[str]:
        row = await self.s.get(Setting, "admins")
        return [str(p) for p in (row.value or [])] if row is not None else []

    async def is_admin(self, person_id: str) -> bool:
        """Whether the person is one of the org file's `admins:` and still active."""
        if person_id not in await self.admins():
            return False
        person = await self.person(person_id)
        return person is not None and person.active

    async def find_person(self, token: str) -> Person | None:
        """Resolve '@alice', 'alice', an email, or a platform id to an active person."""
        t = token.strip().lstrip("@").strip()
        if not t:
            return None
        by_platform_id = select(PlatformId.owner_id).where(
            PlatformId.owner_kind == "person", PlatformId.value == t
        )
        q = select(Person).where(
            Person.active.is_(True),
            or_(
                func.lower(Person.id) == t.lower(),  # '@Alice' is alice
                Person.id.in_(by_platform_id),
                func.lower(Person.email) == t.lower(),
            ),
        )
        found = (await self.s.scalars(q)).first()
        if found is not None:
            return found
        q = select(Person).where(Person.active.is_(True), func.lower(Person.name) == t.lower())
        return (await self.s.scalars(q)).first()

    async def person_by_identity(
        self, platform: str, user_id: str, scopes: Sequence[str]
    ) -> Person | None:
        """The active person whose identity on `platform` is `user_id` in one of `scopes`
        (workspaces the caller already knows are declared: see bot/identity.py)."""
        if not user_id or not scopes:
            return None
        q = (
            select(Person)
            .join(PlatformId, PlatformId.owner_id == Person.id)
            .where(
                Person.active.is_(True),
                PlatformId.owner_kind == "person",
                PlatformId.platform == platform,
                PlatformId.value == user_id,
                PlatformId.scope.in_(list(scopes)),
            )
            .order_by(PlatformId.rank)
        )
        return (await self.s.scalars(q)).first()

    async def platform_id(
        self, owner_kind: str, owner_id: str, platform: str, scopes: Sequence[str] | None = None
    ) -> str | None:
        """A person's (or team's) preferred id on `platform` (in one of `scopes`, if given)."""
        q = (
            select(PlatformId.value)
            .where(
                PlatformId.owner_kind == owner_kind,
                PlatformId.owner_id == owner_id,
                PlatformId.platform == platform,
            )
            .order_by(PlatformId.rank, PlatformId.scope)
        )
        if scopes is not None:
            q = q.where(PlatformId.scope.in_(list(scopes)))
        return (await self.s.scalars(q)).first()

    async def ids_of(self, owner_kind: str, owner_id: str) -> list[PlatformId]:
        """Every platform id (identity, channel) of a person or team."""
        return list(
            await self._cached(
                ("ids_of", owner_kind, owner_id), lambda: self._ids_of(owner_kind, owner_id)
            )
        )

    async def _ids_of(self, owner_kind: str, owner_id: str) -> list[PlatformId]:
        q = select(PlatformId).where(
            PlatformId.owner_kind == owner_kind, PlatformId.owner_id == owner_id
        )
        return list((await self.s.scalars(q)).all())

    async def find_team(self, token: str) -> Team | None:
        t = token.strip().lstrip("#@").strip()
        q = select(Team).where(
            Team.active.is_(True),
            or_(func.lower(Team.id) == t.lower(), func.lower(Team.name) == t.lower()),
        )
        return (await self.s.scalars(q)).first()
