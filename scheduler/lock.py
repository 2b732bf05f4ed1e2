"""Exactly one scheduler per database: a leader lock.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated
  connection for as long as this process leads. If the process dies, or its connection is
  cut, PostgreSQL ends the session and frees the lock; a waiting process takes it on its next
  try. Advisory locks are per database, so two databases on one server never interfere.
- SQLite: an exclusive `flock` on a file beside the database file. The operating system frees
  it when the process exits, however it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.db.session import async_url, is_sqlite

log = logging.getLogger("looplink.scheduler")

# A fixed 63-bit key: "looplink scheduler" hashed, so it never clashes by accident.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"looplink:scheduler").digest()[:8], "big") >> 1
CHECK_TIMEOUT = 10.0


class LeaderLock(Protocol):
    async def acquire(self) -> bool:
        """Try once, without waiting. True if this process now holds the lock."""
        ...

    async def held(self) -> bool:
        """Whether the lock is still ours (False once the connection or file is gone)."""
        ...

    async def release(self) -> None: ...


class PgAdvisoryLock:
    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self.url = url
        self.key = key
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self.backend_pid: int | None = None  # the session holding the lock (tests cut it)

    async def acquire(self) -> bool:
        if self._conn is not None:
            return await self.held()
        engine = create_async_engine(async_url(self.url), poolclass=NullPool)
        try:
            conn = await engine.connect()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (
                await conn.execute(
                    text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"), {"k": self.key}
                )
            ).one()
        except Exception as e:
            log.warning("scheduler lock: cannot reach the database (%s)", type(e).__name__)
            await engine.dispose()
            return False
        if not row[0]:
            await conn.close()
            await engine.dispose()
            return False
        self._engine, self._conn, self.backend_pid = engine, conn, int(row[1])
        return True

    async def held(self) -> bool:
        if self._conn is None:
            return False
        q = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
            "AND classid::bigint * 4294967296 + objid::bigint = :k"
        )
        try:
            n = (
                await asyncio.wait_for(self._conn.execute(q, {"k": self.key}), CHECK_TIMEOUT)
            ).scalar()
        except Exception as e:
            log.warning("scheduler lock: lost the lock connection (%s)", type(e).__name__)
            await self._drop()
            return False
        if not n:
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        await self._drop()

    async def _drop(self) -> None:
        conn, engine = self._conn, self._engine
        self._conn = self._engine = None
        self.backend_pid = None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        if engine is not None:
            with contextlib.suppress(Exception):
                await engine.dispose()


class FileLock:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: IO[str] | None = None

    async def acquire(self) -> bool:
        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for as long as we lead
        if not _try_lock(fh):
            fh.close()
            return False
        self._fh = fh
        return True

    async def held(self) -> bool:
        return self._fh is not None and not self._fh.closed

    async def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError):
                _unlock(fh)
            fh.close()


class ProcessLock:
    """For an in-memory database, which only this process can see anyway."""

    def __init__(self) -> None:
        self._held = False

    async def acquire(self) -> bool:
        self._held = True
        return True

    async def held(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False


def _try_lock(fh: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fh: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def leader_lock(url: str) -> LeaderLock:
    """The right lock for the database at `url`."""
    if not is_sqlite(url):
        return PgAdvisoryLock(url)
    path = make_url(url).database
    if not path or path == ":memory:":
        return ProcessLock()
    return FileLock(f"{path}.scheduler-lock")
