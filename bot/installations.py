"""Where a platform keeps its installations (one per workspace or organisation), encrypted.

The core stores them and never reads them: a platform saves its own installation object
(a JSON mapping, tokens included), finds it again by the workspace an event or a delivery is
about, and records an uninstall or a token revocation, which deletes the tokens. Everything
secret is sealed with LOOPLINK_SECRET_KEY (bot/secrets.py) before it reaches the database.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from bot.clock import Clock
from bot.db.models import AppInstallation, OAuthState
from bot.db.session import Database
from bot.secrets import SecretBox

log = logging.getLogger("looplink.installations")

STATE_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Found:
    """An installation as stored: its data (None once revoked) and its record."""

    scope: str
    within: str
    name: str
    data: dict[str, Any] | None
    revoked_at: datetime | None
    revoked_reason: str


class Installations:
    """One platform's installations in Looplink's database."""

    def __init__(self, db: Database, box: SecretBox, clock: Clock, platform: str) -> None:
        self.db = db
        self.box = box
        self.clock = clock
        self.platform = platform

    async def save(self, scope: str, within: str, name: str, data: dict[str, Any]) -> None:
        """Install (or install again: tokens replaced, a revocation lifted)."""
        now = self.clock.now()
        sealed = self.box.seal(data)
        async with self.db.transaction() as s:
            row = await s.get(AppInstallation, (self.platform, scope))
            if row is None:
                s.add(
                    AppInstallation(
                        platform=self.platform,
                        scope=scope,
                        within=within,
                        name=name,
                        secret=sealed,
                        installed_at=now,
                        updated_at=now,
                        revoked_at=None,
                        revoked_reason="",
                    )
                )
            else:
                row.within, row.name, row.secret, row.updated_at = within, name, sealed, now
                row.revoked_at, row.revoked_reason = None, ""

    async def find(self, scope: str) -> Found | None:
        if not scope:
            return None
        async with self.db.transaction() as s:
            row = await s.get(AppInstallation, (self.platform, scope))
            if row is None:
                return None
            data = None if row.revoked_at is not None else self.box.open(row.secret)
            return Found(row.scope, row.within, row.name, data, row.revoked_at, row.revoked_reason)

    async def revoke(self, scope: str, reason: str) -> bool:
        """Record that the installation is gone (uninstalled, tokens revoked) and delete its
        tokens; True if there was one to revoke."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(AppInstallation, (self.platform, scope))
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at, row.revoked_reason, row.updated_at = now, reason[:64], now
            row.secret = self.box.seal({})
            return True

    async def all(self) -> list[Found]:
        async with self.db.transaction() as s:
            rows = (
                await s.scalars(
                    select(AppInstallation)
                    .where(AppInstallation.platform == self.platform)
                    .order_by(AppInstallation.scope)
                )
            ).all()
            return [
                Found(
                    r.scope,
                    r.within,
                    r.name,
                    None if r.revoked_at else self.box.open(r.secret),
                    r.revoked_at,
                    r.revoked_reason,
                )
                for r in rows
            ]

    # ---- the state of install flows in progress ------------------------------------------

    async def issue_state(self) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.db.transaction() as s:
            await s.execute(delete(OAuthState).where(OAuthState.expires_at < now))
            s.add(OAuthState(state=state, platform=self.platform, expires_at=now + STATE_LIFETIME))
        return state

    async def consume_state(self, state: str) -> bool:
        """True once for a state issued here and not expired."""
        if not state or len(state) > 64:
            return False
        async with self.db.transaction() as s:
            row = await s.get(OAuthState, state)
            if row is None or row.platform != self.platform:
                return False
            await s.delete(row)
            return row.expires_at >= self.clock.now()


async def rotate_all(db: Database, box: SecretBox) -> int:
    """Re-encrypt every stored secret with the first key (`looplink secrets rotate`)."""
    async with db.transaction() as s:
        rows = (await s.scalars(select(AppInstallation))).all()
        for r in rows:
            r.secret = box.rotate(r.secret)
        return len(rows)
