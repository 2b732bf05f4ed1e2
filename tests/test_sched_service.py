"""The scheduler service: jobs synced from the org, persistent, one leader per database,
restarts in the scheduled minute, takeover when the leader dies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import create_engine, func, select, text

from adapters.local import LocalSender
from adapters.local.settings import INFO as LOCAL_INFO
from bot.clock import FixedClock
from bot.db.models import Outbox, ScheduledSend, Setting
from bot.db.session import Database, sync_url
from bot.dircache import directory_changed
from bot.org_apply import apply_org
from bot.orgfile import load_org
from bot.outbox import Fanout
from bot.runtime import Runtime
from looplink.platforms import infos
from scheduler.config import run_key
from scheduler.jobs import run_job, scheduled_job
from scheduler.lock import PgAdvisoryLock
from scheduler.service import JOBS_TABLE, SchedulerService, job_store_url, sync_once
from tests.conftest import EXAMPLE_ORG, MONDAY, PG_URL, _truncate_pg

LINCOLN_AGENDA = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # Tue 13:00 CST, meeting at 15:00


@pytest.fixture
async def services(org: Runtime) -> AsyncIterator[list[SchedulerService]]:
    made: list[SchedulerService] = []
    yield made
    for svc in made:
        await svc.stop()


def service(made: list[SchedulerService], rt: Runtime, **kw: object) -> SchedulerService:
    svc = SchedulerService(rt, paused=True, **kw)  # type: ignore[arg-type]
    made.append(svc)
    return svc


def job_ids(svc: SchedulerService) -> list[str]:
    assert svc.scheduler is not None
    return sorted(j.id for j in svc.scheduler.get_jobs())


async def outbox_keys(rt: Runtime) -> list[str]:
    async with rt.db.transaction() as s:
        rows = (await s.scalars(select(Outbox.dedupe_key).order_by(Outbox.id))).all()
    return [k for k in rows if k]


async def test_jobs_follow_the_org_file(
    org: Runtime, services: list[SchedulerService], clock: FixedClock
) -> None:
    svc = service(services, org)
    await svc.tick()
    assert svc.is_leader
    ids = job_ids(svc)
    assert len(ids) == 49  # 7 teams x (agenda, digest, roundup, progress, nudges, follow_up, pulse)
    assert {"agenda:lincoln", "digest:state", "nudges:harbor", "follow_up:oakgrove"} <= set(ids)
    for _ in range(2):  # re-syncing changes nothing and duplicates nothing
        report = await svc.sync()
        assert (report.added, report.moved, report.removed, report.unchanged) == ([], [], [], 49)
    engine = create_engine(sync_url(job_store_url(org.db.url)))
    with engine.connect() as c:
        assert c.scalar(text(f"SELECT count(*) FROM {JOBS_TABLE}")) == 49
    engine.dispose()

    # Lincoln moves its meeting to Wednesday; Harbor leaves; Washington stops meeting.
    spec = load_org(EXAMPLE_ORG, infos())
    teams = []
    for t in spec.teams:
        if t.id == "lincoln":
            t = replace(t, meeting_schedule="0 15 * * wed")
        if t.id == "washington":
            t = replace(t, meeting_schedule=None)
        if t.id != "harbor":
            teams.append(t)
    async with org.db.transaction() as s:
        await apply_org(s, replace(spec, teams=tuple(teams)))
    resynced = await svc.resync_if_changed()
    assert resynced is not None
    report = resynced
    assert report.moved == ["agenda:lincoln"]
    assert sorted(report.removed) == sorted(
        [
            f"{k}:harbor"
            for k in ("agenda", "digest", "follow_up", "nudges", "progress", "pulse", "roundup")
        ]
        + ["agenda:washington"]
    )
    assert svc.scheduler is not None
    moved = svc.scheduler.get_job("agenda:lincoln")
    assert moved.trigger.get_next_fire_time(None, MONDAY) == datetime(
        2026, 11, 25, 19, 0, tzinfo=UTC
    )  # Wednesday 13:00 CST
    assert await svc.resync_if_changed() is None  # nothing changed since
    await svc.stop()

    # The job store persists: a new leader finds the same 41 jobs and adds nothing.
    again = service(services, org)
    await again.tick()
    assert len(job_ids(again)) == 41
    report = await again.sync()
    assert (report.added, report.moved, report.removed) == ([], [], [])


async def test_org_apply_resyncs_when_no_scheduler_runs(
    org: Runtime, services: list[SchedulerService]
) -> None:
    report = await sync_once(org)  # what `looplink org apply` does after applying
    assert report is not None and len(report.added) == 49
    leader = service(services, org)
    await leader.tick()
    assert await sync_once(org) is None  # a running leader re-syncs on its own


async def test_one_scheduler_per_database_and_takeover(
    org: Runtime, services: list[SchedulerService]
) -> None:
    a, b = service(services, org), service(services, org)
    await a.tick()
    await b.tick()
    assert a.is_leader and not b.is_leader
    await b.tick()  # retries: still not the leader
    assert not b.is_leader
    await a.stop()  # the leader goes away
    await b.tick()
    assert b.is_leader
    await a.tick()  # the old leader, back, now waits
    assert not a.is_leader


async def test_restart_in_the_scheduled_minute_neither_loses_nor_doubles(
    org: Runtime, services: list[SchedulerService], clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    first = service(services, org)
    await first.tick()  # leads and schedules
    # 19:00:00 the agenda fires: APScheduler moves the job on *before* running it, and the
    # process is killed before the run commits. It restarts 30 seconds later.
    clock.set(datetime(2026, 11, 24, 19, 0, 30, tzinfo=UTC))
    await first.stop()
    second = service(services, org)
    await second.tick()  # catches up the cut-short run
    key = run_key("agenda", "lincoln", LINCOLN_AGENDA, "America/Chicago")
    assert await outbox_keys(org) == [f"{key}:team:lincoln:local"]
    # APScheduler's own late run of that fire, and a third restart: nothing doubles
    assert await scheduled_job("agenda", "lincoln", rt=org, scheduled=LINCOLN_AGENDA) == 0
    await second.stop()
    third = service(services, org)
    await third.tick()
    assert await outbox_keys(org) == [f"{key}:team:lincoln:local"]


async def test_two_runtimes_running_the_same_fire_post_once(
    org: Runtime, db_url: str, clock: FixedClock
) -> None:
    other_db = Database(db_url)
    other = Runtime(other_db, clock, Fanout(platforms=()))
    other.add_platform(LOCAL_INFO, LocalSender(other_db, clock))
    clock.set(LINCOLN_AGENDA)
    try:
        results = await asyncio.gather(
            run_job(org, "agenda", "lincoln", LINCOLN_AGENDA),
            run_job(other, "agenda", "lincoln", LINCOLN_AGENDA),
        )
    finally:
        await other_db.close()
    assert sorted(results) == [0, 1]
    assert len(await outbox_keys(org)) == 1
    async with org.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(ScheduledSend)) == 1


async def test_the_running_scheduler_fires_with_the_scheduled_time(
    org: Runtime, services: list[SchedulerService]
) -> None:
    svc = SchedulerService(org)  # not paused: APScheduler runs on the wall clock
    services.append(svc)
    await svc.tick()
    assert svc.scheduler is not None
    events: list[JobExecutionEvent] = []
    ran = asyncio.Event()

    def listener(event: JobExecutionEvent) -> None:
        events.append(event)
        ran.set()

    svc.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    fire = datetime.now(UTC).replace(microsecond=0)
    svc.scheduler.modify_job("digest:lincoln", next_run_time=fire)
    svc.scheduler.wakeup()
    await asyncio.wait_for(ran.wait(), timeout=10)
    assert [(e.code, e.retval) for e in events] == [(EVENT_JOB_EXECUTED, 2)]
    async with org.db.transaction() as s:
        keys = (await s.scalars(select(ScheduledSend.key))).all()
    assert keys == [run_key("digest", "lincoln", fire, "America/Chicago")]
    after = svc.scheduler.get_job("digest:lincoln").next_run_time
    assert after > fire and after.weekday() == 0  # moved on to next Monday


@pytest.mark.skipif(PG_URL is None, reason="needs LOOPLINK_TEST_DATABASE_URL (PostgreSQL)")
async def test_postgres_leader_dies_and_another_takes_over(pg_database: str) -> None:
    _truncate_pg(pg_database)
    clock = FixedClock(datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    runtimes = []
    for _ in range(2):  # two "processes": their own engines, runtimes and services
        db = Database(pg_database)
        rt = Runtime(db, clock, Fanout(platforms=()))
        rt.add_platform(LOCAL_INFO, LocalSender(db, clock))
        runtimes.append(rt)
    async with runtimes[0].db.transaction() as s:
        await apply_org(s, load_org(EXAMPLE_ORG, infos()))
    a = SchedulerService(runtimes[0], paused=True)
    b = SchedulerService(runtimes[1], paused=True)
    try:
        await a.tick()
        await b.tick()
        assert a.is_leader and not b.is_leader
        assert isinstance(a.lock, PgAdvisoryLock) and a.lock.backend_pid is not None
        # At the fire time only the leader runs jobs.
        clock.set(datetime(2026, 11, 24, 19, 0, 5, tzinfo=UTC))
        assert await a.catch_up() == 1
        assert b.scheduler is None
        # The leader's database session dies (crash, network cut): PostgreSQL frees the lock.
        admin = create_engine(sync_url(pg_database), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            assert c.scalar(
                text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": a.lock.backend_pid}
            )
        admin.dispose()
        await b.tick()
        assert b.is_leader
        await a.tick()  # the old leader notices and stops scheduling
        assert not a.is_leader
        assert await b.catch_up() == 0  # the fire was already handled: no double post
        assert len(await outbox_keys(runtimes[0])) == 1
    finally:
        for svc in (a, b):
            await svc.stop()
        for rt in runtimes:
            await rt.db.close()


async def no_holidays(rt: Runtime) -> None:
    """Clear the organisation's holidays (an agenda is skipped on one, whatever the test)."""
    async with rt.db.transaction() as s:
        row = await s.get(Setting, "calendar")
        assert row is not None
        row.value = {**(row.value or {}), "holidays": []}
        await directory_changed(s)


async def test_a_failed_run_is_retried_within_its_grace_time(
    org: Runtime, services: list[SchedulerService], monkeypatch: pytest.MonkeyPatch
) -> None:
    import scheduler.jobs

    real = scheduler.jobs.run_job
    calls: list[datetime | None] = []

    async def flaky(rt: Runtime, kind: str, team_id: str, scheduled: datetime | None = None) -> int:
        calls.append(scheduled)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return await real(rt, kind, team_id, scheduled)

    monkeypatch.setattr(scheduler.jobs, "run_job", flaky)
    await no_holidays(org)  # the run happens now, on the real clock: today may be one of them
    svc = SchedulerService(org)
    services.append(svc)
    await svc.tick()
    assert svc.scheduler is not None
    failed = asyncio.Event()
    svc.scheduler.add_listener(lambda _e: failed.set(), EVENT_JOB_ERROR | EVENT_JOB_EXECUTED)
    fire = datetime.now(UTC).replace(microsecond=0)
    svc.scheduler.modify_job("agenda:lincoln", next_run_time=fire)
    svc.scheduler.wakeup()
    await asyncio.wait_for(failed.wait(), timeout=10)
    assert await outbox_keys(org) == []
    assert await svc.retry_failed() == 1  # the next tick does this
    key = run_key("agenda", "lincoln", fire, "America/Chicago")
    assert await outbox_keys(org) == [f"{key}:team:lincoln:local"]  # as the same scheduled fire
    assert calls == [fire]
    assert await svc.retry_failed() == 0


async def test_the_job_store_never_waits_on_a_transaction_of_its_own_loop(
    org: Runtime, services: list[SchedulerService]
) -> None:
    """APScheduler's job store is a blocking database connection used on the event loop. On
    SQLite, a write transaction open on that same loop (SQLite statements run on the loop, and a
    group commit holds the write lock until it commits) could only be released by the loop the
    job store was blocking: it waited out its busy timeout (10 s) and failed with "database is
    locked" (seen in `looplink demo`'s scheduler and as 10 s stalls in the Teams tests). The job
    store must not share a lock with the loop's own transactions."""
    svc = service(services, org)
    await svc.tick()
    assert svc.is_leader
    async with org.db.transaction() as s:
        s.add(Setting(key="held-open", value="x"))
        await s.flush()  # the write lock is held until this block ends
        report = await svc.sync()  # the job store writes (a changed job) inside it
        job = svc.scheduler.get_job("agenda:lincoln") if svc.scheduler else None
        assert job is not None
        svc.scheduler.remove_job("agenda:lincoln")  # type: ignore[union-attr]
        again = await svc.sync()
    assert report.unchanged and again.added == ["agenda:lincoln"]
