"""SQLite for the async engine without a thread per connection: statements run inline.

SQLAlchemy's async SQLite driver (aiosqlite) runs each connection in its own thread and hands
every call over a queue: a cursor, an execute, a fetch and a close are four round trips
between the event loop and that thread. On a busy machine each one waits to be scheduled,
and the profile of the ack path (bench/README.md, issue 18) was mostly that wait: the event
loop idle in `epoll` and blocked in `SimpleQueue.put_nowait` while the thread got the CPU.

SQLite is a library, not a server: a statement on the ack path takes microseconds, and this
process's transactions already take turns (`Database.transaction`). So this module gives the
engine the connection object aiosqlite would (the same async methods) but runs each call at
once on the event loop's thread. The cost: a long statement (a digest over a large
organisation, a commit's fsync) holds the event loop for its duration, as it already held
every other transaction through the turns lock. A commit, which waits for the disk (fsync),
still runs in a thread: one hand-over per transaction instead of a dozen.

Used with `create_async_engine(..., async_creator=...)` (bot/db/session.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, seq)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Now:
    """What SQLAlchemy puts (future, function) pairs on to set the isolation level: run now."""

    def put_nowait(self, pair: tuple[Any, Callable[[], Any]]) -> None:
        future, function = pair
        try:
            future.set_result(function())
        except BaseException as e:  # handed to whoever awaits the future
            future.set_exception(e)


class InlineConnection:
    """The parts of `aiosqlite.Connection` SQLAlchemy's adapter uses, run inline."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._tx = _Now()
        self._committing: asyncio.Future[None] | None = None

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live().cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def begin_immediate(self, timeout: float = 10.0) -> None:
        """BEGIN IMMEDIATE (take SQLite's write lock) without blocking the event loop while
        another connection holds it: SQLite's busy handler would sleep on the loop's thread,
        and when the holder is a task on this loop it could never finish. Here the wait is an
        asyncio sleep between tries (1 ms, doubling to 50 ms), for up to `timeout` seconds."""
        conn = self._live()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.001
        (busy,) = conn.execute("PRAGMA busy_timeout").fetchone()
        conn.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) or loop.time() > deadline:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(busy)}")

    def begin_commit(self) -> None:
        """Start the commit in its thread now; the next `commit()` waits for it. (A group
        commit decides to commit in one task and awaits it in another: until the thread has
        the commit, a second connection's write would wait on SQLite's lock with the event
        loop blocked, and the commit could never start.)"""
        if self._committing is None:
            loop = asyncio.get_running_loop()
            self._committing = loop.run_in_executor(None, self._live().commit)

    async def commit(self) -> None:
        # the one call that waits on the disk (fsync): in a thread, so the loop serves others
        started, self._committing = self._committing, None
        if started is not None:
            await started
        else:
            await asyncio.to_thread(self._live().commit)

    async def rollback(self) -> None:
        self._live().rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._live().create_function(*args, **kw)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def creator(database: str) -> Callable[[], Awaitable[InlineConnection]]:
    """`async_creator` for SQLAlchemy's aiosqlite dialect: inline connections to `database`."""

    async def opened() -> InlineConnection:
        # opened on one event loop, used on whichever runs next (tests): never two at once
        return InlineConnection(sqlite3.connect(database, check_same_thread=False))

    return opened
