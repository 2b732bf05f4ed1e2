"""Who a platform user is: identities inside the organisation's own workspaces and tenants.

The model (issue 10):

- An identity is (platform, workspace, user id): a `PlatformId` row whose `scope` is the
  workspace (a Slack workspace or Enterprise Grid organisation, a Microsoft 365 tenant). The
  same user id in another workspace is another identity.
- The organisation declares the workspaces that are its own (`workspaces:` in the org file,
  table `workspaces`). An event from anywhere else is a stranger's: it is answered as a
  stranger's, sees nothing and changes nothing, whatever id, name or email it carries.
- An email links a new identity to a person only inside a declared workspace, and only when
  that person has no identity there yet (and the email is one person's). It never moves an
  identity that is already someone's: nothing an inbound event says re-points a link.
- A platform without workspaces (`PlatformInfo.workspace_key` None) is one space: its ids
  have scope "" and nothing needs declaring.

Adapters describe the caller (`Caller`: the ids the platform gives for them, the workspace
the event came from and any larger one it belongs to, the email the platform vouches for);
`Identities.identify` answers with the person, or None for a stranger. The router calls it for
every event; an adapter may call it earlier (to store a conversation reference for the
identity that owns it), which links by email at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dircache
from bot.db.models import Person, PlatformId, Team, Workspace
from bot.platform_info import PlatformInfo

log = logging.getLogger("looplink.identity")


@dataclass(frozen=True)
class Identity:
    """One identity on a platform: a user id inside one workspace ("" without workspaces)."""

    platform: str
    scope: str
    value: str


@dataclass(frozen=True)
class Caller:
    """Who an inbound event says it comes from."""

    platform: str
    ids: tuple[tuple[str, str], ...]  # (org-file key, user id), the platform's preferred first
    scope: str = ""  # the workspace or tenant the event comes from
    within: tuple[str, ...] = ()  # larger ones it belongs to (a Slack Enterprise Grid org)
    email: str | None = None  # the platform's word for the user's email, if it gave one

    @property
    def places(self) -> tuple[str, ...]:
        return tuple(p for p in (self.scope, *self.within) if p)


@dataclass(frozen=True)
class Known:
    """A caller who is a person of the organisation, and the identity that says so."""

    person: Person
    identity: Identity
    places: tuple[str, ...]  # the declared workspaces the event comes from
    linked: bool = False  # the identity was linked by email just now


class Identities:
    """Identity questions within one unit of work (one session)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def places(self, info: PlatformInfo, places: Sequence[str]) -> tuple[str, ...]:
        """Which of `places` (innermost first) are the organisation's own, active workspaces
        on `info`'s platform; ("",) for a platform without workspaces."""
        if info.workspace_key is None:
            return ("",)
        wanted = [p for p in places if p]
        if not wanted:
            return ()
        view = dircache.view_of(self.s)
        key = ("places", info.name, tuple(wanted))
        hit = view.get(key) if view is not None else None
        if isinstance(hit, tuple):
            return hit
        q = select(Workspace.value).where(
            Workspace.platform == info.name,
            Workspace.value.in_(wanted),
            Workspace.active.is_(True),
        )
        declared = set((await self.s.scalars(q)).all())
        found = tuple(p for p in wanted if p in declared)
        if view is not None:
            view.put(key, found)
        return found

    async def identify(self, info: PlatformInfo, caller: Caller) -> Known | None:
        """The active person `caller` is, or None: a stranger (see the module docstring)."""
        places = await self.places(info, caller.places if info.workspace_key else ())
        if not places or not any(value for _key, value in caller.ids):
            return None
        owner = await self._owner(info.name, caller.ids, places)
        if owner is not None:
            person, identity = owner
            if person is None or not person.active:
                return None  # an identity that is someone's (now inactive) is nobody else's
            return Known(person, identity, places)
        if not caller.email:
            return None
        person = await self._by_email(caller.email)
        if person is None or await self.has_identity(info.name, person.id, places):
            return None
        linked = await self._link(info, person, caller.ids, places[-1], "email")
        if linked is None:  # linked by someone else at the same moment: as they left it
            again = await self._owner(info.name, caller.ids, places)
            if again is None or again[0] is None or not again[0].active:
                return None
            return Known(again[0], again[1], places)
        return Known(person, linked, places, linked=True)

    async def _owner(
        self, platform: str, ids: Sequence[tuple[str, str]], places: Sequence[str]
    ) -> tuple[Person | None, Identity] | None:
        """The owner of the first of `ids` that is someone's in `places` (None: nobody's)."""
        view = dircache.view_of(self.s)
        key = ("owner", platform, tuple(ids), tuple(places))
        hit = view.get(key) if view is not None else None
        if view is not None and not dircache.missing(hit):
            return cast(tuple[Person | None, Identity] | None, hit)
        found = await self._read_owner(platform, ids, places)
        if view is not None:
            view.put(key, found)
        return found

    async def _read_owner(
        self, platform: str, ids: Sequence[tuple[str, str]], places: Sequence[str]
    ) -> tuple[Person | None, Identity] | None:
        values = [v for _k, v in ids if v]
        q = (
            select(PlatformId)
            .where(
                PlatformId.owner_kind == "person",
                PlatformId.platform == platform,
                PlatformId.scope.in_(list(places)),
                PlatformId.value.in_(values),
            )
            .order_by(PlatformId.rank)
        )
        rows = [r for r in (await self.s.scalars(q)).all() if (r.key, r.value) in set(ids)]
        if not rows:
            return None
        row = rows[0]
        return await self.s.get(Person, row.owner_id), Identity(platform, row.scope, row.value)

    async def _by_email(self, email: str) -> Person | None:
        """The one active person with this email (None: nobody, or more than one)."""
        q = (
            select(Person)
            .where(Person.active.is_(True), func.lower(Person.email) == email.strip().lower())
            .limit(2)
        )
        found = list((await self.s.scalars(q)).all())
        return found[0] if len(found) == 1 else None

    async def has_identity(self, platform: str, person_id: str, places: Sequence[str]) -> bool:
        """Whether the person already has an identity on `platform` in any of `places`."""
        q = (
            select(PlatformId.value)
            .where(
                PlatformId.owner_kind == "person",
                PlatformId.owner_id == person_id,
                PlatformId.platform == platform,
                PlatformId.scope.in_(list(places)),
            )
            .limit(1)
        )
        return (await self.s.scalar(q)) is not None

    async def link(
        self, info: PlatformInfo, person: Person, ids: Sequence[tuple[str, str]], scope: str
    ) -> Identity | None:
        """Link `ids` in the declared workspace `scope` to `person` by email (`looplink org
        sync`), under the same rules as on first contact; None when the rules say no."""
        if scope not in await self.places(info, [scope] if info.workspace_key else []):
            return None
        if not person.active or await self.has_identity(info.name, person.id, [scope]):
            return None
        if await self._owner(info.name, ids, [scope]) is not None:
            return None
        return await self._link(info, person, ids, scope, "email")

    async def _link(
        self,
        info: PlatformInfo,
        person: Person,
        ids: Sequence[tuple[str, str]],
        scope: str,
        origin: str,
    ) -> Identity | None:
        """Store `ids` as `person`'s in `scope`; None if one became someone's meanwhile."""
        ranks = {k: r for r, k in enumerate(info.person_keys)}
        rows = [
            PlatformId(
                owner_kind="person",
                owner_id=person.id,
                key=key,
                scope=scope,
                platform=info.name,
                rank=ranks.get(key, len(ranks)),
                value=value,
                origin=origin,
            )
            for key, value in ids
            if value and key in ranks
        ]
        if not rows:
            return None
        try:
            if self.s.get_bind().dialect.name == "postgresql":  # SQLite transactions take turns
                async with self.s.begin_nested():
                    self.s.add_all(rows)
            else:
                self.s.add_all(rows)
                await self.s.flush()
        except IntegrityError:
            return None
        await dircache.directory_changed(self.s)
        log.info(
            "linked a %s identity in %s to person %s by email (%s)",
            info.name,
            scope or "its only workspace",
            person.id,
            origin,
        )
        return Identity(info.name, scope, rows[0].value)

    async def team_for_channel(
        self, info: PlatformInfo, channel: str, places: Sequence[str]
    ) -> Team | None:
        """The team whose channel on `info`'s platform is `channel`, in one of the declared
        workspaces among `places` (innermost first)."""
        declared = await self.places(info, places)
        if not declared or not channel:
            return None
        q = (
            select(Team)
            .join(PlatformId, PlatformId.owner_id == Team.id)
            .where(
                PlatformId.owner_kind == "team",
                PlatformId.platform == info.name,
                PlatformId.value == channel,
                PlatformId.scope.in_(list(declared)),
            )
        )
        return (await self.s.scalars(q)).first()


async def undeclared(
    session: AsyncSession, platforms: Sequence[PlatformInfo]
) -> list[PlatformInfo]:
    """The platforms among `platforms` that have workspaces but none declared: on them,
    everyone is a stranger until the org file declares the organisation's own."""
    q = select(Workspace.platform).where(Workspace.active.is_(True)).distinct()
    declared = set((await session.scalars(q)).all())
    return [p for p in platforms if p.workspace_key and p.name not in declared]
