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
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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

# A group commits when no transaction is waiting for its turn, or at this many members.
GROUP_LIMIT = 64


class GroupCommitFailed(OperationalError):
    """The commit of a group failed: this transaction's rows were not stored. A database
    error like the commit's own (`orig` is the driver's), for whoever explains those."""


class _Group:
    """Transactions that share one SQLite transaction (one connection, one commit, one fsync).

    Each member runs inside a savepoint of it; a member that fails is rolled back to its
    savepoint, the others are kept. A member returns only once the group has committed."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.members = 0
        self.closing = False  # a member failed in the database: commit what is there now
        self.done = asyncio.Event()
        self.error: BaseException | None = None

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        self.done.set()

    async def settled(self) -> None:
        """Wait for the group's commit; raise if it failed (nothing of this member stored)."""
        await self.done.wait()
        if self.error is not None:
            orig = getattr(self.error, "orig", None) or self.error
            raise GroupCommitFailed("COMMIT", None, orig) from self.error


def transaction_control(sql: str) -> bool:
    """BEGIN, SAVEPOINT, RELEASE, ROLLBACK, COMMIT: not a read or a write (statement counts)."""
    return sql.lstrip().split(" ", 1)[0].upper() in (
        "BEGIN",
        "SAVEPOINT",
        "RELEASE",
        "ROLLBACK",
        "COMMIT",
    )


def _driver(conn: AsyncConnection) -> Any:
    """The driver's connection under SQLAlchemy's (an InlineConnection, or aiosqlite's)."""
    return conn.sync_connection.connection.driver_connection if conn.sync_connection else None


def _intact(conn: AsyncConnection) -> bool:
    """Whether SQLite's transaction is still open (some errors roll the whole of it back)."""
    try:
        return bool(_driver(conn)._connection.in_transaction)
    except Exception:  # aiosqlite's connection lives in its thread: trust the next statement
        return True


class Database:
    """The app's handle on its database: `async with db.transaction() as s: ...`.

    On SQLite, transactions in one process take turns (an asyncio lock, first come first
    served). SQLite has one writer at a time anyway; without the lock, concurrent writers on
    the pool's connections wait in SQLite's busy handler, which sleeps up to 100 ms between
    retries, and under load that turned into seconds of tail latency. A transaction opened
    inside another (same task) does not wait for the lock.

    Group commit (SQLite): a commit waits for the disk (fsync, ~1-15 ms), and one fsync per
    transaction capped the whole process at one request per fsync. So transactions that come
    one after another share one SQLite transaction: each is a savepoint in it, and the
    transaction that finds nobody waiting for its turn commits them all with one fsync.
    `transaction()` returns only after that commit, so whoever acknowledges a request after
    its transaction has its rows on disk first; if the commit fails, every member raises
    `GroupCommitFailed`. A member sees the rows of the members before it (one connection),
    as it saw them committed before; if the group then fails, it fails too. A transaction
    inside another joins the group as a savepoint of its own.
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
        self._waiting = 0  # transactions waiting for their turn
        self._group: _Group | None = None
        self._committing: set[asyncio.Task[None]] = set()
        self.group_commits = 0  # commits of groups, and their members (bench/tests read them)
        self.grouped = 0

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error."""
        held = _holding.get()
        if self._turns is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        if self in held:  # inside our own turn: a savepoint of the open group
            assert self._group is not None
            async with self._member(self._group) as session:
                yield session
            return
        self._waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self._waiting -= 1
        group: _Group | None = None
        stored = False
        try:
            group = self._group = self._group or await self._open_group()
            token = _holding.set((*held, self))
            try:
                async with self._member(group) as session:
                    yield session
                stored = True
                group.members += 1
            except BaseException as e:
                if not _intact(group.conn):  # SQLite rolled the whole group back
                    self._group = None
                    await self._discard(group, e)
                elif isinstance(e, DBAPIError):  # e.g. a stale read snapshot: end the group
                    group.closing = True
                raise
            finally:
                _holding.reset(token)
        finally:
            self._end_turn(group)
        if stored:
            await group.settled()

    @asynccontextmanager
    async def _member(self, group: _Group) -> AsyncIterator[AsyncSession]:
        async with (
            self.sessions(bind=group.conn, join_transaction_mode="create_savepoint") as session,
            session.begin(),
        ):
            yield session

    async def _open_group(self) -> _Group:
        conn = await self.engine.connect()
        try:
            await conn.begin()
            # pysqlite starts SQLite's transaction lazily; savepoints need it open first, and
            # IMMEDIATE: the group writes with the snapshot it reads (no stale-snapshot failure)
            driver = _driver(conn)
            if isinstance(driver, inline_sqlite.InlineConnection):
                await driver.begin_immediate()  # waits for another writer without blocking
            else:  # aiosqlite: the wait is in its thread
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            await conn.close()
            raise
        return _Group(conn)

    def _end_turn(self, group: _Group | None) -> None:
        """Give up the turn; the last of a group (or the 64th) commits it first."""
        assert self._turns is not None
        if group is None or self._group is not group:  # no group, or already discarded
            self._turns.release()
            return
        if self._waiting and group.members < GROUP_LIMIT and not group.closing:
            self._turns.release()  # the next transaction joins the group
            return
        self._group = None
        driver = _driver(group.conn)
        if isinstance(driver, inline_sqlite.InlineConnection):
            driver.begin_commit()  # the fsync starts now, not when the task below first runs
        # the lock is released by the commit itself, even if this task is cancelled meanwhile
        task = asyncio.get_running_loop().create_task(self._commit(group))
        self._committing.add(task)
        task.add_done_callback(self._committing.discard)

    async def _commit(self, group: _Group) -> None:
        assert self._turns is not None
        try:
            try:
                await group.conn.commit()
            except BaseException as e:
                await self._discard(group, e)
                return
            await group.conn.close()
            self.group_commits += 1
            self.grouped += group.members
            group.finish(None)
        finally:
            self._turns.release()

    async def _discard(self, group: _Group, error: BaseException) -> None:
        """The group's transaction is lost: roll back what is left, fail every member."""
        try:
            await group.conn.rollback()
            await group.conn.close()
        except Exception:
            await group.conn.invalidate()
        group.finish(error)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.engine.dispose()
