"""Browser sessions for Looplink's own pages (dashboard, playground), and later any sign-in.

A session is a random 256-bit id, given to the browser once (the cookie) and stored only as its
SHA-256 (`web_sessions`), with who it belongs to (`principal`), how they signed in (`method`),
a CSRF token, and its limits: refused after `expires_at` (absolute, `MAX_AGE` from sign-in) and
when unused for `IDLE` (each use moves `last_seen_at`, at most once a minute). Sign-out revokes
it; signing in again replaces it (`rotate`), so an id known before sign-in is worth nothing.

    store = SessionStore(db, clock)
    cookie, session = await store.create("admin", "admin-token")
    session = await store.lookup(cookie)            # None when unknown, revoked or too old
    cookie, session = await store.rotate(old_cookie, "admin", "admin-token")
    await store.revoke(cookie)
    store.csrf_ok(session, submitted_token)

A sign-in (the admin token today; Slack or Microsoft OpenID Connect later) only decides the
principal and calls `create`/`rotate`; everything else is here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from bot.clock import Clock
from bot.db.models import WebSession
from bot.db.session import Database

MAX_AGE = timedelta(hours=12)
IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)
MAX_COOKIE = 128  # a real id is 43 characters; anything much longer is not ours


@dataclass(frozen=True)
class Session:
    principal: str
    method: str
    csrf: str
    created_at: datetime
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _view(row: WebSession) -> Session:
    return Session(row.principal, row.method, row.csrf, row.created_at, row.expires_at)


class SessionStore:
    def __init__(
        self, db: Database, clock: Clock, max_age: timedelta = MAX_AGE, idle: timedelta = IDLE
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_age = max_age
        self.idle = idle

    async def create(self, principal: str, method: str) -> tuple[str, Session]:
        """A new session for `principal`; returns the id for the cookie (shown only now)."""
        now = self.clock.now()
        session_id = secrets.token_urlsafe(32)
        row = WebSession(
            id_hash=_hash(session_id),
            principal=principal,
            method=method,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.max_age,
            revoked_at=None,
        )
        async with self.db.transaction() as s:
            s.add(row)
        return session_id, _view(row)

    async def lookup(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (unknown, revoked, expired or idle)."""
        if not session_id or len(session_id) > MAX_COOKIE:
            return None
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(WebSession, _hash(session_id))
            if row is None or row.revoked_at is not None:
                return None
            if now >= row.expires_at or now - row.last_seen_at >= self.idle:
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
            return _view(row)

    async def revoke(self, session_id: str | None) -> bool:
        """End this session (sign-out); True when there was a live one."""
        if not session_id or len(session_id) > MAX_COOKIE:
            return False
        async with self.db.transaction() as s:
            result = await s.execute(
                update(WebSession)
                .where(WebSession.id_hash == _hash(session_id), WebSession.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
            return bool(getattr(result, "rowcount", 0))

    async def revoke_all(self, principal: str) -> int:
        """End every session of `principal` (e.g. the admin token changed, a person left)."""
        async with self.db.transaction() as s:
            result = await s.execute(
                update(WebSession)
                .where(WebSession.principal == principal, WebSession.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def rotate(
        self, old_session_id: str | None, principal: str, method: str
    ) -> tuple[str, Session]:
        """Sign-in: whatever session the browser had ends, and a new one starts."""
        await self.revoke(old_session_id)
        return await self.create(principal, method)

    @staticmethod
    def csrf_ok(session: Session, token: str | None) -> bool:
        """Whether a submitted CSRF token is this session's (constant time)."""
        if not token or len(token) > MAX_COOKIE:
            return False
        return hmac.compare_digest(token.encode(), session.csrf.encode())

    async def purge(self, keep: timedelta = timedelta(days=7)) -> int:
        """Delete sessions that ended more than `keep` ago (they open nothing already)."""
        cutoff = self.clock.now() - keep
        async with self.db.transaction() as s:
            result = await s.execute(
                delete(WebSession).where(
                    or_(WebSession.expires_at < cutoff, WebSession.revoked_at < cutoff)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def count_live(self, principal: str) -> int:
        now = self.clock.now()
        async with self.db.transaction() as s:
            rows = await s.scalars(
                select(WebSession.id_hash).where(
                    WebSession.principal == principal,
                    WebSession.revoked_at.is_(None),
                    WebSession.expires_at > now,
                )
            )
            return len(rows.all())
