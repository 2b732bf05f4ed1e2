"""A process-wide cache of the directory answers every inbound event needs, kept exact.

Every event asks the same questions before it does anything: is this workspace one of the
organisation's, whose identity is this user id, which person is that, which team do they
report to, how large is it, what is the calendar. The answers change only when the
organisation changes (`looplink org apply`, an admin's edit, an identity linked by email),
so reading them from the database on every request is wasted work.

Exactness: every change to people, teams, memberships, platform ids, workspaces or settings
calls `directory_changed(session)` in its own transaction. That writes a new random token in
the `settings` row `directory_version`. A transaction that wants the cache reads the token
first (one primary-key read) with `attach(session)`; the cache answers only while its token
is the one read, and is emptied whenever another one is read. So a change committed in any
process (another replica, the CLI) is seen by the next transaction that starts after it, as
if there were no cache. Sessions without `attach` (jobs, tools, tests) read the database.

Cached rows are detached copies, shared read-only between transactions: nothing may change
them. The router takes its own copy of the person who acted into the session
(`merge(load=False)`, no statement), so a flow that changes them (a chosen language) changes
that copy, writes it, and calls `directory_changed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from bot.db.models import Base, Setting

KEY = "directory_version"
SESSION_KEY = "looplink_directory_cache"
MAX_ENTRIES = 200_000  # an answer per person and team is far below this; past it, start again


@dataclass
class Cache:
    """The answers known under one token. `get`/`put` by (question, arguments)."""

    token: str | None = None
    answers: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def reset(self, token: str | None) -> None:
        self.token = token
        self.answers = {}


_MISSING = object()
_cache = Cache()


class View:
    """The cache as one transaction may use it: only while the token it read is current."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    @property
    def usable(self) -> bool:
        return _cache.token == self.token

    def get(self, key: tuple[Any, ...]) -> Any:
        return _cache.answers.get(key, _MISSING) if self.usable else _MISSING

    def put(self, key: tuple[Any, ...], value: Any) -> Any:
        """Remember `value` (ORM rows as copies that belong to no session, so a rollback
        or a change in the transaction that read them cannot touch them); returns the copy."""
        if not self.usable:
            return value
        value = copied(value)
        if len(_cache.answers) >= MAX_ENTRIES:
            _cache.answers = {}
        _cache.answers[key] = value
        return value


def copied(value: Any) -> Any:
    """`value` with every ORM row in it (at the top or in a tuple or list) replaced by a detached copy
    holding the same column values."""
    if isinstance(value, tuple):
        return tuple(copied(v) for v in value)
    if isinstance(value, list):
        return [copied(v) for v in value]
    if isinstance(value, Base):
        mapper = inspect(type(value))
        copy = type(value)(**{a.key: getattr(value, a.key) for a in mapper.column_attrs})
        make_transient_to_detached(copy)  # as if loaded: a session may take it (merge)
        return copy
    return value


def missing(value: Any) -> bool:
    return value is _MISSING


async def attach(s: AsyncSession) -> View:
    """Let this transaction use the cache (reads the current token: one statement)."""
    token = await s.scalar(select(Setting.value).where(Setting.key == KEY))
    token = None if token is None else str(token)
    if _cache.token != token:
        _cache.reset(token)
    view = View(token)
    s.info[SESSION_KEY] = view
    return view


def view_of(s: AsyncSession) -> View | None:
    """The cache this session may use, if it attached one."""
    v = s.info.get(SESSION_KEY)
    return v if isinstance(v, View) and v.usable else None


async def directory_changed(s: AsyncSession) -> None:
    """Call in the transaction that changes people, teams, memberships, platform ids,
    workspaces or settings: when it commits, every process's cache starts again."""
    token = uuid.uuid4().hex
    row = await s.get(Setting, KEY)
    if row is None:
        s.add(Setting(key=KEY, value=token))
    else:
        row.value = token
    await s.flush()
    s.info.pop(SESSION_KEY, None)  # this transaction now reads its own changes
    _cache.reset(None)


def forget() -> None:
    """Empty this process's cache (tests)."""
    _cache.reset(None)
