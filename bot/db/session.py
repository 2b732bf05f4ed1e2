"""Database engines and transactions. One URL setting; async for the app, sync for migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.db import inline_sqlite
from bot.db.problems import backend

DEFAULT_URL = "sqlite:///looplink.db"


CONNECT_TIMEOUT = "10"  # seconds; an unreachable PostgreSQL host fails fast, not after minutes


def _driver_url(url: str, sqlite_driver: str, pg_driver: str) -> str:
    name = backend(url)  # DatabaseProblem for anything but SQLite and PostgreSQL
    u = make_url(url)
    if name == "sqlite":
        return u.set(drivername=sqlite_driver).render_as_string(hide_password=False)
    if "connect_timeout" not in u.query:
        u = u.update_query_dict({"connect_timeout": CONNECT_TIMEOUT})
    return u.set(drivername=pg_driver).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    return _driver_url(url, "sqlite+aiosqlite", "postgresql+psycopg")


def sync_url(url: str) -> str:
    return _driver_url(url, "sqlite", "postgresql+psycopg")


def is_sqlite(url: str) -> bool:
    return backend(url) == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    cur.execute("PRAGMA mmap_size=1073741824")  # read through the OS page cache
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


# The databases whose transaction the current task is inside (see Database.transaction).
_holding: ContextVar[tuple[object, ...]] = ContextVar("looplink_db_holding", default=())


class Database:
    """The app's handle on its database: `async with db.transaction() as s: ...`.

    On SQLite, transactions in one process take turns (an asyncio lock, first come first
    served). SQLite has one writer at a time anyway; without the lock, concurrent writers on
    the pool's connections wait in SQLite's busy handler, which sleeps up to 100 ms between
    retries, and under load that turned into seconds of tail latency. A transaction opened
    inside another (same task) does not wait for the lock.
    """

    def __init__(self, url: str = DEFAULT_URL, **engine_kw: Any) -> None:
        self.url = url
        if is_sqlite(url):
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            engine_kw.setdefault("pool_pre_ping", True)
        # Error messages must never carry row values (a reporter id) into a log line.
        engine_kw.setdefault("hide_parameters", True)
        if is_sqlite(url) and os.environ.get("LOOPLINK_SQLITE_THREADS") != "1":
            # statements inline on the event loop, no thread hop per call (inline_sqlite.py)
            engine_kw.setdefault(
                "async_creator", inline_sqlite.creator(make_url(url).database or ":memory:")
            )
        self.engine: AsyncEngine = create_async_engine(async_url(url), **engine_kw)
        if is_sqlite(url):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._turns: asyncio.Lock | None = asyncio.Lock() if is_sqlite(url) else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error."""
        held = _holding.get()
        if self._turns is None or self in held:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._turns:
            token = _holding.set((*held, self))
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                _holding.reset(token)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.engine.dispose()
