"""Server wiring: one aiohttp app serving every enabled platform from one database.

Routes: GET /healthz always; POST /slack/events (Slack), POST /api/messages (Teams), and the
local playground, each mounted by its adapter when enabled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.org_apply import apply_org
from bot.orgfile import load_org
from bot.outbox import Fanout
from bot.platforms import Platform
from bot.runtime import Runtime
from bot.settings import Settings
from bot.texts import Texts, set_texts

log = logging.getLogger("looplink.server")

MAX_BODY = 1024 * 1024  # 1 MiB: far above any real Slack or Teams payload


@dataclass
class Server:
    settings: Settings
    rt: Runtime
    app: web.Application
    platforms: list[Platform] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    scheduler: Any = None  # scheduler.service.SchedulerService when settings.run_scheduler


SERVER = web.AppKey("server", Server)


def enabled_platforms(settings: Settings, rt: Runtime) -> list[Platform]:
    """Import and build each enabled adapter (platform SDKs are imported only here, lazily)."""
    out: list[Platform] = []
    if settings.local_enabled:
        from adapters.local.platform import LocalPlatform

        out.append(LocalPlatform(rt, settings))
    if settings.slack_enabled:
        from adapters.slack.platform import SlackPlatform

        out.append(SlackPlatform(rt, settings))
    if settings.teams_enabled:
        from adapters.teams.platform import TeamsPlatform

        out.append(TeamsPlatform(rt, settings))
    return out


async def prepare_database(settings: Settings) -> Database:
    await asyncio.to_thread(upgrade, settings.database_url)
    db = Database(settings.database_url)
    if settings.org_file is not None:
        spec = load_org(settings.org_file)
        async with db.transaction() as s:
            report = await apply_org(s, spec)
        log.info("org file %s applied: %s", settings.org_file, report.counts())
    return db


async def build_server(
    settings: Settings, clock: Clock | None = None, db: Database | None = None
) -> Server:
    if settings.templates_dir is not None:
        set_texts(Texts(settings.templates_dir))
    if db is None:
        db = await prepare_database(settings)
    rt = Runtime(db, clock or SystemClock(), Fanout(platforms=()))
    app = web.Application(client_max_size=MAX_BODY)
    server = Server(settings, rt, app)
    app[SERVER] = server
    app.router.add_get("/healthz", _healthz)
    from adapters.local.dashboard import add_dashboard_routes  # no platform SDK: always served

    add_dashboard_routes(app)
    for platform in enabled_platforms(settings, rt):
        platform.add_routes(app)
        rt.add_sender(platform.sender())
        server.platforms.append(platform)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    return server


async def _healthz(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    ok = await server.rt.db.ping()
    return web.json_response(
        {"ok": ok, "platforms": [p.name for p in server.platforms]}, status=200 if ok else 503
    )


async def _on_startup(app: web.Application) -> None:
    server = app[SERVER]
    for p in server.platforms:
        await p.start()
    server._tasks.append(asyncio.create_task(server.rt.dispatcher.run_forever()))
    if server.settings.run_scheduler:
        from scheduler.service import SchedulerService

        server.scheduler = SchedulerService(server.rt)
        await server.scheduler.start()
    names = ", ".join(p.name for p in server.platforms) or "none"
    log.info("Looplink started: platforms %s; database %s", names, server.rt.db.dialect)


async def _on_cleanup(app: web.Application) -> None:
    server = app[SERVER]
    if server.scheduler is not None:
        await server.scheduler.stop()
    server.rt.dispatcher.stop()
    for t in server._tasks:
        t.cancel()
    await asyncio.gather(*server._tasks, return_exceptions=True)
    for p in server.platforms:
        await p.stop()
    await server.rt.db.close()


async def serve(settings: Settings, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until cancelled. `on_ready` gets the base URL (with the real port, even for 0)."""
    server = await build_server(settings)
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{port}/"
    if on_ready is not None:
        on_ready(url)
    else:
        print(f"Looplink is listening on {url} (Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
