"""Teams' directory for `looplink org sync` (bot/org_sync.py): the tenants of the teams
Looplink is installed in (their channels' stored conversation references), and the members of
those teams by email (the roster, `GET /v3/conversations/{id}/pagedmembers`; the app package
asks for the roster permission)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from adapters.teams.connector import BotConnector, ConnectorError
from adapters.teams.settings import INFO
from bot.db.models import ConversationRef
from bot.db.session import Database
from bot.org_sync import Ids, LookupFailed, Place

KEY, AAD_KEY = INFO.person_keys


class TeamsPeople:
    info = INFO

    def __init__(self, db: Database, connector: BotConnector) -> None:
        self.db = db
        self.connector = connector

    async def _refs(self) -> list[ConversationRef]:
        async with self.db.transaction() as s:
            q = select(ConversationRef).where(
                ConversationRef.owner_kind == "team", ConversationRef.platform == INFO.name
            )
            return list((await s.scalars(q.order_by(ConversationRef.owner_id))).all())

    async def places(self) -> list[Place]:
        tenants = sorted({r.scope for r in await self._refs() if r.scope})
        return [Place(t) for t in tenants]

    async def lookup(self, place: Place, emails: Sequence[str]) -> dict[str, Ids]:
        wanted = {e.strip().lower() for e in emails}
        out: dict[str, Ids] = {}
        for ref in await self._refs():
            if ref.scope != place.value:
                continue
            conv = dict(ref.ref.get("conversation") or {})
            team = str(ref.ref.get("teamId") or conv.get("id") or "")
            try:
                members = await self.connector.roster(str(ref.ref.get("serviceUrl", "")), team)
            except ConnectorError as e:
                raise LookupFailed(f"the roster of team {ref.owner_id}: {e}") from e
            for m in members:
                email = str(m.get("email") or m.get("userPrincipalName") or "").strip().lower()
                tenant = str(m.get("tenantId") or place.value)
                if email in wanted and email not in out and m.get("id") and tenant == place.value:
                    ids: Ids = ((KEY, str(m["id"])),)
                    if m.get("objectId") or m.get("aadObjectId"):
                        ids += ((AAD_KEY, str(m.get("objectId") or m.get("aadObjectId"))),)
                    out[email] = ids
        return out
