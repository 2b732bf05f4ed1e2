"""Running jobs: run_job_now, the exactly-once ledger, restarts in the scheduled minute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Outbox, ScheduledSend
from bot.errors import InvalidInput, NotFound
from bot.runtime import Runtime
from scheduler.api import run_job_now
from scheduler.jobs import run_job
from tests.sched_seed import seed_activity


async def outbox_count(rt: Runtime) -> int:
    async with rt.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Outbox)) or 0)


async def test_run_now_posts_each_kind_through_the_outbox(
    chat: LocalChat, clock: FixedClock
) -> None:
    await seed_activity(chat, clock)
    rt = chat.rt
    assert await run_job_now(rt, "lincoln", "agenda") == 1
    assert await run_job_now(rt, "lincoln", "digest") == 2  # alice (lead) and bob (liaison)
    assert await run_job_now(rt, "lincoln", "roundup") == 1
    assert await run_job_now(rt, "lincoln", "progress") == 1
    await rt.dispatcher.run_once()
    titles = [r.message.title for r in await chat.channel("lincoln")]
    assert any(t.startswith("Standing agenda: Lincoln") for t in titles)
    assert any(t.startswith("Recognition roundup") for t in titles)
    assert [r.message.title for r in await chat.dms("alice")][-1].startswith("Weekly digest")
    assert [r.message.title for r in await chat.dms("bob")][-1].startswith("Weekly digest")
    # the same run in the same second is one run
    assert await run_job_now(rt, "lincoln", "agenda") == 0


async def test_run_now_refuses_unknown_kind_and_team(org: Runtime) -> None:
    with pytest.raises(InvalidInput):
        await run_job_now(org, "lincoln", "lunch")
    with pytest.raises(NotFound):
        await run_job_now(org, "atlantis", "agenda")


async def test_same_fire_twice_is_one_post(org: Runtime, clock: FixedClock) -> None:
    """A restart inside the scheduled minute runs the fire again: nothing doubles."""
    fire = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # Lincoln's agenda: Tue 13:00 Chicago
    clock.set(fire)
    assert await run_job(org, "agenda", "lincoln", fire) == 1
    clock.advance(seconds=40)  # restarted, same minute
    assert await run_job(org, "agenda", "lincoln", fire) == 0
    assert await outbox_count(org) == 1
    async with org.db.transaction() as s:
        keys = (await s.scalars(select(ScheduledSend.key))).all()
    assert keys == ["agenda:lincoln:2026-11-24T13:00"]
