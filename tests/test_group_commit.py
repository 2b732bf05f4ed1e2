"""Group commit on SQLite (issue 18): transactions that come one after another share one
commit (one fsync), and none returns before that commit is on disk. Persist before ack holds
exactly: a Slack request is not answered while its rows are uncommitted, and a group whose
commit fails fails every transaction in it (nothing of them stored, none answered as done)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.clock import FixedClock
from bot.db import inline_sqlite
from bot.db.models import ProcessedDelivery
from bot.db.session import Database, GroupCommitFailed
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import BARRIER, running_slack

Commit = Callable[[inline_sqlite.InlineConnection], Awaitable[None]]


def on_disk(db_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """What another connection (another process) reads from the file: committed rows only."""
    conn = sqlite3.connect(str(make_url(db_url).database))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def keys_on_disk(db_url: str) -> set[str]:
    return {k for (k,) in on_disk(db_url, "SELECT key FROM processed_deliveries")}


@pytest.fixture
def sqlite_only(db_url: str) -> str:
    if not db_url.startswith("sqlite"):
        pytest.skip("group commit is SQLite's (PostgreSQL commits each transaction itself)")
    return db_url


class HeldCommits:
    """SQLite's commits wait for `gate` (a slow disk); `failing` makes the next one fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = 0
        self.failing = 0
        original: Commit = inline_sqlite.InlineConnection.commit

        async def commit(conn: inline_sqlite.InlineConnection) -> None:
            self.started += 1
            await self.gate.wait()
            if self.failing:
                self.failing -= 1
                raise sqlite3.OperationalError("disk I/O error")
            await original(conn)

        monkeypatch.setattr(inline_sqlite.InlineConnection, "commit", commit)
        monkeypatch.setattr(inline_sqlite.InlineConnection, "begin_commit", lambda _c: None)


async def test_transactions_waiting_their_turn_share_one_commit(
    sqlite_only: str, db: Database, clock: FixedClock
) -> None:
    async def writer(n: int) -> None:
        async with db.transaction() as s:
            s.add(ProcessedDelivery(key=f"k{n}", at=clock.now(), result={}))
            await s.flush()
            await asyncio.sleep(0)

    before = db.group_commits
    await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(48))), 30)
    assert db.group_commits - before < 48 // 4  # groups, not one commit per transaction
    assert keys_on_disk(sqlite_only) == {f"k{n}" for n in range(48)}


async def test_no_transaction_returns_before_its_rows_are_committed(
    sqlite_only: str, db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = HeldCommits(monkeypatch)
    returned: dict[int, set[str]] = {}

    async def writer(n: int) -> None:
        async with db.transaction() as s:
            s.add(ProcessedDelivery(key=f"k{n}", at=clock.now(), result={}))
            await s.flush()
        returned[n] = keys_on_disk(sqlite_only)  # what is durable when it returns

    commits.gate.clear()  # the disk is slow: the commit is held
    tasks = [asyncio.create_task(writer(n)) for n in range(10)]
    for _ in range(200):
        if commits.started:
            break
        await asyncio.sleep(0.01)
    assert commits.started == 1  # one commit for the ten
    await asyncio.sleep(0.2)
    assert returned == {}  # all written, none returned while the commit is held
    assert keys_on_disk(sqlite_only) == set()
    commits.gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    for n, seen in returned.items():
        assert f"k{n}" in seen


async def test_a_failed_group_commit_fails_every_transaction_in_it(
    sqlite_only: str, db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = HeldCommits(monkeypatch)
    commits.gate.clear()
    commits.failing = 1
    done: list[int] = []

    async def writer(n: int) -> None:
        async with db.transaction() as s:
            s.add(ProcessedDelivery(key=f"k{n}", at=clock.now(), result={}))
            await s.flush()
        done.append(n)

    tasks = [asyncio.create_task(writer(n)) for n in range(10)]
    await asyncio.sleep(0.2)
    commits.gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    assert done == []
    assert all(isinstance(r, GroupCommitFailed) for r in results), results
    # a database error like the commit's own, for whoever explains those (looplink/cli.py)
    assert all(isinstance(r, DBAPIError) and "disk I/O" in str(r.orig) for r in results)
    assert keys_on_disk(sqlite_only) == set()
    async with db.transaction() as s:  # the next transaction starts clean and is stored
        assert await s.get(ProcessedDelivery, "k0") is None
        s.add(ProcessedDelivery(key="after", at=clock.now(), result={}))
    assert keys_on_disk(sqlite_only) == {"after"}


async def test_a_failing_member_loses_only_its_own_rows(
    db_url: str, db: Database, clock: FixedClock
) -> None:
    class Boom(Exception):
        pass

    async def writer(n: int) -> None:
        async with db.transaction() as s:
            s.add(ProcessedDelivery(key=f"k{n}", at=clock.now(), result={}))
            await s.flush()
            await asyncio.sleep(0)
            if n == 3:
                raise Boom

    results = await asyncio.gather(*(writer(n) for n in range(8)), return_exceptions=True)
    assert [type(r) for r in results].count(Boom) == 1
    async with db.transaction() as s:
        keys = set((await s.scalars(select(ProcessedDelivery.key))).all())
    assert keys == {f"k{n}" for n in range(8) if n != 3}


async def test_a_later_member_sees_the_rows_of_earlier_members(
    sqlite_only: str, db: Database, clock: FixedClock
) -> None:
    seen: list[bool] = []

    async def first() -> None:
        async with db.transaction() as s:
            s.add(ProcessedDelivery(key="first", at=clock.now(), result={}))
            await s.flush()

    async def second() -> None:
        async with db.transaction() as s:
            seen.append(await s.get(ProcessedDelivery, "first") is not None)
            async with db.transaction() as inner:  # a transaction inside it sees them too
                seen.append(await inner.get(ProcessedDelivery, "first") is not None)

    await asyncio.gather(first(), second())
    assert seen == [True, True]


# ---- over HTTP: the Slack request is answered only after its commit ---------------------


async def test_a_report_is_not_acknowledged_before_it_is_committed(
    sqlite_only: str, clock: FixedClock, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_slack(sqlite_only, clock, fake) as slack:
        status, _ = await slack.user.command("U0CAROL", "/barrier", "screener")
        assert status == 200
        await slack.settle()
        view = slack.last_view()
        commits = HeldCommits(monkeypatch)
        commits.gate.clear()
        submit = asyncio.create_task(slack.user.submit("U0CAROL", view, BARRIER))
        for _ in range(500):
            if commits.started:
                break
            await asyncio.sleep(0.01)
        assert commits.started
        await asyncio.sleep(0.3)
        assert not submit.done()  # written, not committed: not acknowledged
        assert on_disk(sqlite_only, "SELECT id FROM items") == []
        commits.gate.set()
        status, body = await asyncio.wait_for(submit, 10)
        assert status == 200
        assert json.loads(body)["response_action"] == "update"  # the thank-you view
        [(summary,)] = on_disk(sqlite_only, "SELECT summary FROM items")
        assert summary == BARRIER["summary"]


async def test_reports_whose_group_commit_fails_are_not_acknowledged_as_stored(
    sqlite_only: str, clock: FixedClock, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_slack(sqlite_only, clock, fake) as slack:
        status, _ = await slack.user.command("U0CAROL", "/barrier", "screener")
        await slack.settle()
        view = slack.last_view()
        commits = HeldCommits(monkeypatch)
        commits.gate.clear()
        commits.failing = 1  # the first group's commit fails; the next ones are stored
        summaries = [f"barrier number {n}" for n in range(6)]
        submits = [
            asyncio.create_task(slack.user.submit("U0CAROL", view, {**BARRIER, "summary": s}))
            for s in summaries
        ]
        await asyncio.sleep(0.3)
        assert commits.started == 1 and not any(t.done() for t in submits)
        commits.gate.set()
        answers = await asyncio.wait_for(asyncio.gather(*submits), 10)
        stored = {s for (s,) in on_disk(sqlite_only, "SELECT summary FROM items")}
        told: dict[str, str] = {}
        for summary, (status, body) in zip(summaries, answers, strict=True):
            assert status == 200
            # an empty ack: the same modal submitted again is not a second report
            told[summary] = json.loads(body)["view"]["blocks"][0]["text"]["text"] if body else ""
        assert "nothing was saved" in told[summaries[0]]  # the first group's commit failed
        for summary in summaries:  # thanked if and only if committed
            assert (summary in stored) == told[summary].startswith("Thanks"), told[summary]


async def test_the_similar_index_keeps_one_cache_per_database_across_groups(
    db_url: str, db: Database
) -> None:
    """Sessions of SQLite's groups are bound to a new connection each group: a cache keyed
    by the bind grew by one entry per group (a leak bench/memory.py --tracemalloc found)."""
    from bot.similar import store

    store.forget_cache()
    for _ in range(5):
        async with db.transaction() as s:
            await store.frequencies(s, ["screener", "~data"])
            await store.doc_count(s)
    assert len(store._caches) == 1
