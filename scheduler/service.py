"""The scheduler service: APScheduler 3 on the server's event loop, one leader per database.

Every process that may schedule runs a `SchedulerService`. Each `tick` (every `poll_seconds`):

- a process without the leader lock tries to take it (scheduler.lock); on success it starts an
  `AsyncIOScheduler` on the persistent `SQLAlchemyJobStore` (table `apscheduler_jobs` in
  Looplink's own database on PostgreSQL, in a file beside it on SQLite: `job_store_url`), syncs the jobs from the teams, catches up a run that a crash may
  have cut short, then resumes the scheduler;
- the leader checks it still holds the lock (else it stops scheduling at once) and re-syncs
  the jobs when the teams' schedules changed (`org apply` in another process needs no signal).

Only the leader ever opens the job store for writing, so APScheduler never shares a store
between processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from traceback import format_tb
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, create_engine, event, make_url, select

from bot.db.models import ScheduledSend
from bot.db.session import is_sqlite, sync_url
from bot.runtime import Runtime
from bot.schedule import fires_between
from scheduler.config import JobSpec, desired_jobs, run_key
from scheduler.jobs import run_job, scheduled_job
from scheduler.lock import LeaderLock, leader_lock

log = logging.getLogger("looplink.scheduler")

JOBS_TABLE = "apscheduler_jobs"
POLL_SECONDS = 15.0
STOP_WAIT = 30.0  # how long a stopping leader lets running jobs finish
MAX_CONCURRENT_JOBS = 8


@dataclass(frozen=True)
class Retry:
    kind: str
    team_id: str
    scheduled: datetime
    until: datetime  # the end of the run's grace time


class FireTimeExecutor(AsyncIOExecutor):
    """The asyncio executor, but each job also gets the runtime and its *scheduled* fire time.

    The fire time (not the wall clock at run time) names the run in the exactly-once ledger,
    so a run repeated after a restart, or late within its grace time, has the same key.
    """

    def __init__(self, rt: Runtime, concurrency: int = MAX_CONCURRENT_JOBS) -> None:
        super().__init__()
        self.rt = rt
        self.running: set[asyncio.Task[list[JobExecutionEvent]]] = set()
        # Thousands of jobs due in one minute queue here, not in the database pool.
        self.slots = asyncio.Semaphore(concurrency)
        # Runs that failed (database down, a bug): retried by the service while in grace.
        self.failed: dict[str, Retry] = {}

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def done(task: asyncio.Task[list[JobExecutionEvent]]) -> None:
            self.running.discard(task)
            try:
                events = task.result()
            except BaseException:
                self._run_job_error(job.id, *sys.exc_info()[1:])
            else:
                self._run_job_success(job.id, events)

        task = self._eventloop.create_task(self._run(job, run_times))
        task.add_done_callback(done)
        self.running.add(task)

    async def _run(self, job: Job, run_times: list[datetime]) -> list[JobExecutionEvent]:
        events = []
        alias = job._jobstore_alias
        for run_time in run_times:
            late = datetime.now(UTC) - run_time
            if job.misfire_grace_time is not None and late > timedelta(
                seconds=job.misfire_grace_time
            ):
                log.warning("job %s missed its run time by %s; skipped", job.id, late)
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, alias, run_time))
                continue
            try:
                async with self.slots:
                    value = await job.func(*job.args, rt=self.rt, scheduled=run_time, **job.kwargs)
            except Exception as e:
                log.exception("job %s (scheduled %s) failed; will retry", job.id, run_time)
                grace = timedelta(seconds=job.misfire_grace_time or 0)
                self.failed[job.id] = Retry(job.args[0], job.args[1], run_time, run_time + grace)
                tb = "".join(format_tb(e.__traceback__))
                events.append(
                    JobExecutionEvent(
                        EVENT_JOB_ERROR, job.id, alias, run_time, exception=e, traceback=tb
                    )
                )
            else:
                events.append(
                    JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, alias, run_time, retval=value)
                )
        return events

    def shutdown(self, wait: bool = True) -> None:  # noqa: ARG002 - APScheduler's signature
        for task in list(self.running):
            task.cancel()
        self.running.clear()


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.moved)} moved"]
        parts += [f"{len(self.removed)} removed", f"{self.unchanged} unchanged"]
        return "Scheduled jobs synced: " + ", ".join(parts) + "."


def job_store_url(url: str) -> str:
    """Where APScheduler keeps its jobs: the database itself on PostgreSQL; on SQLite a file
    beside it (`looplink.db` -> `looplink.jobs.db`). The job store is a blocking connection
    used on the event loop, and SQLite's statements run on that loop too: a write transaction
    open there holds the one write lock of the file, which only the blocked loop could release,
    so a job store in the same file waited out its busy timeout and failed ("database is
    locked"). In its own file it shares no lock with the loop's transactions."""
    if not is_sqlite(url):
        return url
    parsed = make_url(url)
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return url
    file = Path(path)
    jobs = file.with_name(f"{file.stem}.jobs{file.suffix or '.db'}")
    return parsed.set(database=str(jobs)).render_as_string(hide_password=False)


def job_store_engine(url: str) -> Engine:
    url = job_store_url(url)
    engine = create_engine(sync_url(url), pool_pre_ping=not is_sqlite(url))
    if is_sqlite(url):

        def pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        event.listen(engine, "connect", pragmas)
    return engine


def make_scheduler(rt: Runtime, engine: Engine) -> tuple[AsyncIOScheduler, FireTimeExecutor]:
    executor = FireTimeExecutor(rt)
    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors={"default": executor},
        # Each job also sets these; here so nothing falls back to APScheduler's defaults.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=UTC,
    )
    return scheduler, executor


def sync_jobs(scheduler: AsyncIOScheduler, desired: list[JobSpec], now: datetime) -> SyncReport:
    """Make the job store match `desired`: add new, replace changed, remove the rest."""
    report = SyncReport()
    existing = {j.id: j for j in scheduler.get_jobs()}
    wanted = {j.id: j for j in desired}
    for job_id in sorted(set(existing) - set(wanted)):
        scheduler.remove_job(job_id)
        report.removed.append(job_id)
    for job_id, spec in sorted(wanted.items()):
        current = existing.get(job_id)
        if current is not None and current.kwargs.get("spec") == spec.spec:
            report.unchanged += 1
            continue
        scheduler.add_job(
            scheduled_job,
            trigger=spec.trigger(),
            args=[spec.kind, spec.team_id],
            kwargs={"spec": spec.spec, "added": now.isoformat()},
            id=job_id,
            name=f"{spec.kind} for {spec.team_id}",
            misfire_grace_time=spec.grace,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        (report.moved if current is not None else report.added).append(job_id)
    return report


def fingerprint(desired: list[JobSpec]) -> str:
    text = "\n".join(f"{j.id}={j.spec}" for j in sorted(desired, key=lambda j: j.id))
    return hashlib.sha256(text.encode()).hexdigest()


class SchedulerService:
    def __init__(
        self,
        rt: Runtime,
        *,
        poll_seconds: float = POLL_SECONDS,
        lock: LeaderLock | None = None,
        paused: bool = False,
    ) -> None:
        """`paused`: keep the job store and the lock but let APScheduler run nothing on the
        wall clock (tests drive runs with `catch_up()` on an injected clock instead)."""
        self.rt = rt
        self.paused = paused
        self.poll_seconds = poll_seconds
        self.lock = lock or leader_lock(rt.db.url)
        self.scheduler: AsyncIOScheduler | None = None
        self.executor: FireTimeExecutor | None = None
        self._engine: Engine | None = None
        self._fingerprint = ""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._ticking = asyncio.Lock()  # the background loop and a direct call never overlap

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        """Start the background loop: lead if possible, otherwise keep trying."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="looplink-scheduler")

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_seconds)

    async def tick(self) -> None:
        """One round: take the lead if free, check it is still ours, follow schedule changes."""
        async with self._ticking:
            await self._tick()

    async def _tick(self) -> None:
        if self.scheduler is None:
            if await self.lock.acquire():
                log.info("this process now runs the scheduler")
                try:
                    await self._lead()
                except Exception:
                    await self._step_down()
                    raise
            return
        if not await self.lock.held():
            log.warning("scheduler lock lost; another process may take over")
            await self._step_down()
            return
        await self.resync_if_changed()
        await self.retry_failed()

    async def retry_failed(self) -> int:
        """Run again each failed run still within its grace time. Returns runs that worked."""
        if self.executor is None or not self.executor.failed:
            return 0
        now = datetime.now(UTC)
        ok = 0
        for job_id, retry in list(self.executor.failed.items()):
            if now > retry.until:
                log.error(
                    "job %s (scheduled %s) failed and is past its grace time",
                    job_id,
                    retry.scheduled,
                )
                del self.executor.failed[job_id]
                continue
            try:
                await run_job(self.rt, retry.kind, retry.team_id, retry.scheduled)
            except Exception:
                log.exception("retry of job %s failed; will retry", job_id)
                continue
            self.executor.failed.pop(job_id, None)
            ok += 1
        return ok

    async def _lead(self) -> None:
        self._engine = job_store_engine(self.rt.db.url)
        self.scheduler, self.executor = make_scheduler(self.rt, self._engine)
        self.scheduler.start(paused=True)
        await self.sync()
        await self.catch_up()
        if not self.paused:
            self.scheduler.resume()

    async def sync(self) -> SyncReport:
        assert self.scheduler is not None, "only the leader syncs jobs"
        async with self.rt.db.transaction() as s:
            desired = await desired_jobs(s)
        report = sync_jobs(self.scheduler, desired, self.rt.clock.now())
        self._fingerprint = fingerprint(desired)
        if report.added or report.moved or report.removed:
            log.info(report.summary())
        return report

    async def resync_if_changed(self) -> SyncReport | None:
        async with self.rt.db.transaction() as s:
            desired = await desired_jobs(s)
        if self.scheduler is None or fingerprint(desired) == self._fingerprint:
            return None
        return await self.sync()

    async def catch_up(self) -> int:
        """Run a fire the job store already moved past but whose run never committed.

        APScheduler advances a job's next run time before the job runs, so a crash during a
        run would lose it. A new leader looks back over each job's grace time (and never before
        the job was added) and runs any fire that has no ledger row. Returns runs made.
        """
        assert self.scheduler is not None
        now = self.rt.clock.now()
        pending: list[tuple[str, str, datetime, str]] = []
        for job in self.scheduler.get_jobs():
            kind, team_id = job.args[0], job.args[1]
            added = _parse(job.kwargs.get("added"))
            start = now - timedelta(seconds=job.misfire_grace_time or 0)
            if added is not None and added > start:
                start = added
            fires = fires_between(job.trigger, start, now)
            if fires:
                tz = str(getattr(job.trigger, "timezone", "UTC"))
                pending.append((kind, team_id, fires[-1], run_key(kind, team_id, fires[-1], tz)))
        if not pending:
            return 0
        async with self.rt.db.transaction() as s:
            keys = [p[3] for p in pending]
            done = set(
                (
                    await s.scalars(select(ScheduledSend.key).where(ScheduledSend.key.in_(keys)))
                ).all()
            )
        runs = 0
        for kind, team_id, fire, key in pending:
            if key not in done:
                log.info("catching up %s for %s (scheduled %s)", kind, team_id, fire)
                await run_job(self.rt, kind, team_id, fire)
                runs += 1
        return runs

    async def _step_down(self, wait: bool = False) -> None:
        scheduler, executor, engine = self.scheduler, self.executor, self._engine
        self.scheduler = self.executor = self._engine = None
        if scheduler is not None:
            scheduler.pause()
            if wait and executor is not None and executor.running:
                await asyncio.wait(set(executor.running), timeout=STOP_WAIT)
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler.shutdown runs on the next loop turn
        if engine is not None:
            engine.dispose()
        await self.lock.release()

    async def stop(self) -> None:
        """Stop scheduling: let running jobs finish (up to STOP_WAIT), release the lock."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._ticking:
            await self._step_down(wait=True)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


async def sync_once(rt: Runtime) -> SyncReport | None:
    """Sync the job store now if no scheduler is running (e.g. after `looplink org apply`).

    Returns None when another process leads: it re-syncs on its own within POLL_SECONDS.
    """
    service = SchedulerService(rt)
    if not await service.lock.acquire():
        return None
    engine = job_store_engine(rt.db.url)
    quiet = logging.getLogger("apscheduler.scheduler")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # not one "Added job" line per job on the command line
    try:
        scheduler, _ = make_scheduler(rt, engine)
        scheduler.start(paused=True)
        try:
            async with rt.db.transaction() as s:
                desired = await desired_jobs(s)
            return sync_jobs(scheduler, desired, rt.clock.now())
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
    finally:
        quiet.setLevel(level)
        engine.dispose()
        await service.lock.release()
