"""Issue 18: every team's digest and agenda from grouped statements (bot/content/batch.py).

The jobs due in the same minute share one read of every team's sections. Each message must be
the one its team would get built alone, and the statements a batch runs must not grow with
the number of teams in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event, select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.content.agenda import build_agenda
from bot.content.batch import SharedSections
from bot.content.digest import build_digest
from bot.db.models import AgendaItem, Membership, Team
from bot.db.session import Database, transaction_control
from bot.messages import Message
from bot.metrics import SharedStats
from tests.sched_seed import seed_activity


@contextmanager
def counting(db: Database) -> Iterator[list[int]]:
    n = [0]

    def one(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        if not transaction_control(sql):  # SQLite's group commit adds savepoints
            n[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", one)
    try:
        yield n
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", one)


async def every_message(
    db: Database, now: datetime, batched: bool
) -> dict[tuple[str, str], Message]:
    """Every active team's digest and agenda, built alone or from one shared batch."""
    stats = SharedStats() if batched else None
    batch = SharedSections() if batched else None
    out: dict[tuple[str, str], Message] = {}
    async with db.transaction() as s:
        teams = list((await s.scalars(select(Team).where(Team.active).order_by(Team.id))).all())
    for team in teams:
        async with db.transaction() as s:
            out[("digest", team.id)] = await build_digest(s, team, now, stats, batch=batch)
            out[("agenda", team.id)] = await build_agenda(s, team, now, None, stats, batch=batch)
    return out


async def test_every_message_from_a_batch_is_the_one_built_alone(
    chat: LocalChat, clock: FixedClock
) -> None:
    await seed_activity(chat, clock)
    await chat.command("alice", "agenda", "add Substitute pool for coaching days")
    async with chat.rt.db.transaction() as s:
        s.add(
            AgendaItem(
                team_id="lincoln",
                kind="action",
                text="Call the vendor",
                added_by="alice",
                owner_id="erin",
                created_at=clock.now(),
            )
        )
    now = clock.now()
    alone = await every_message(chat.rt.db, now, batched=False)
    together = await every_message(chat.rt.db, now, batched=True)
    assert alone.keys() == together.keys()
    for key, message in alone.items():
        assert together[key] == message, key
    assert any("screener" in m.text for m in alone.values())  # the sections are not empty


async def statements_for_all(db: Database, now: datetime) -> tuple[int, int]:
    async with db.transaction() as s:
        n_teams = len((await s.scalars(select(Team.id).where(Team.active))).all())
    with counting(db) as n:
        await every_message(db, now, batched=True)
    return n_teams, n[0] - 1  # less the one listing the teams


async def test_a_batch_runs_as_many_statements_for_many_teams_as_for_few(
    chat: LocalChat, clock: FixedClock
) -> None:
    await seed_activity(chat, clock)
    now = clock.now()
    few, few_statements = await statements_for_all(chat.rt.db, now)
    async with chat.rt.db.transaction() as s:  # fifty more building teams under Riverside
        for k in range(50):
            tid = f"school{k}"
            s.add(
                Team(
                    id=tid,
                    name=f"School {k}",
                    level="building",
                    parent_id="riverside",
                    timezone="America/Chicago",
                    meeting_schedule="0 15 * * tue",
                    extra={},
                )
            )
            await s.flush()
            s.add(Membership(team_id=tid, person_id="carol", role="member"))
    many, many_statements = await statements_for_all(chat.rt.db, now)
    assert many == few + 50
    assert many_statements == few_statements, (few_statements, many_statements)
    assert few_statements < 50
