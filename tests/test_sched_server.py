"""The server runs the scheduler service (unless LOOPLINK_SCHEDULER=off) and stops it cleanly."""

from __future__ import annotations

from aiohttp import web

from bot.clock import FixedClock
from bot.db.session import Database
from bot.runtime import Runtime
from looplink.server import build_server
from scheduler.service import SchedulerService
from tests.settings_support import make_settings

# looplink/server.py keys the app with a plain string; aiohttp warns about that (not ours to change).


async def start(url: str, clock: FixedClock, run_scheduler: bool) -> tuple[web.AppRunner, object]:
    settings = make_settings(database_url=url, local_enabled=True, run_scheduler=run_scheduler)
    server = await build_server(settings, clock=clock, db=Database(url))
    runner = web.AppRunner(server.app)
    await runner.setup()  # runs the startup hooks
    return runner, server


async def test_server_runs_and_stops_the_scheduler(org: Runtime, clock: FixedClock) -> None:
    runner, server = await start(org.db.url, clock, run_scheduler=True)
    service = server.scheduler  # type: ignore[attr-defined]
    assert isinstance(service, SchedulerService)
    await service.tick()  # the same as its background loop's first round
    assert service.is_leader
    other = SchedulerService(org, paused=True)
    await other.tick()
    assert not other.is_leader  # the server holds the lock
    await runner.cleanup()  # the cleanup hooks stop the scheduler and release the lock
    await other.tick()
    assert other.is_leader
    await other.stop()


async def test_server_without_the_scheduler(org: Runtime, clock: FixedClock) -> None:
    runner, server = await start(org.db.url, clock, run_scheduler=False)
    assert server.scheduler is None  # type: ignore[attr-defined]
    await runner.cleanup()
