"""Server wiring: one aiohttp app serving every enabled platform from one database.

Routes: GET /healthz and the dashboard always; each enabled platform mounts its own (Slack
POST /slack/events, Teams POST /api/messages, the local playground). The outbox dispatcher and
the scheduler service run beside them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from adapters.local.console import add_console_routes
from adapters.local.dashboard import add_dashboard_routes
from bot import i18n, limits
from bot.clock import Clock, SystemClock
from bot.db.session import Database
from bot.identity import undeclared
from bot.outbox import Fanout
from bot.platforms import Platform, PlatformAdapter
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError
from bot.startup import prepare_database
from bot.texts import Texts, set_texts
from looplink.platforms import PLATFORMS, infos
from scheduler.service import SchedulerService

log = logging.getLogger("looplink.server")

MAX_BODY = 1024 * 1024  # 1 MiB: far above any real Slack or Teams payload


@dataclass
class Server:
    settings: Settings
    rt: Runtime
    app: web.Application
    platforms: list[Platform] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    scheduler: SchedulerService | None = None  # when settings.run_scheduler


SERVER = web.AppKey("server", Server)


def enabled_platforms(
    settings: Settings, rt: Runtime, registered: Sequence[PlatformAdapter] = PLATFORMS
) -> list[Platform]:
    """Build each registered platform that the settings enable (its SDK is imported then)."""
    return [p.build(rt, settings) for p in registered if p.info.name in settings.platforms]


async def build_server(
    settings: Settings,
    clock: Clock | None = None,
    db: Database | None = None,
    platforms: Sequence[PlatformAdapter] = PLATFORMS,
) -> Server:
    """The whole program as an aiohttp app; `platforms` are the registered ones (tests add)."""
    if settings.templates_dir is not None:
        set_texts(Texts(settings.templates_dir))
    try:  # a broken catalog is a message now, not a failure in someone's conversation
        i18n.check_catalogs()
    except i18n.CatalogError as e:
        raise SettingsError(str(e)) from None
    limits.configure(settings.flood_limits)
    own_db = db is None
    if db is None:
        db = await prepare_database(settings, infos(platforms))
    try:
        return await _assemble(settings, db, clock, platforms)
    except BaseException:
        if own_db:  # a platform refused its settings: leave no connection behind
            await db.close()
        raise


async def _assemble(
    settings: Settings, db: Database, clock: Clock | None, platforms: Sequence[PlatformAdapter]
) -> Server:
    rt = Runtime(db, clock or SystemClock(), Fanout(platforms=()))
    app = web.Application(client_max_size=MAX_BODY)
    server = Server(settings, rt, app)
    app[SERVER] = server
    app.router.add_get("/healthz", _healthz)
    add_dashboard_routes(app, rt, settings)  # no platform SDK: always served
    add_console_routes(app, rt, settings, infos(platforms))
    for platform in enabled_platforms(settings, rt, platforms):
        platform.add_routes(app)
        rt.add_platform(platform.info, platform.sender())
        server.platforms.append(platform)
    async with db.transaction() as s:
        for info in await undeclared(s, [p.info for p in server.platforms]):
            log.warning(
                "%s is enabled but the org file declares no %s of the organisation's own "
                "(workspaces:, see docs/org-file.md): everyone on %s is a stranger to Looplink",
                info.label,
                info.workspace_label,
                info.label,
            )
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    return server


async def _healthz(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    ok = await server.rt.db.ping()
    return web.json_response(
        {"ok": ok, "platforms": [p.info.name for p in server.platforms]},
        status=200 if ok else 503,
    )


async def _on_startup(app: web.Application) -> None:
    server = app[SERVER]
    for p in server.platforms:
        await p.start()
    server._tasks.append(asyncio.create_task(server.rt.dispatcher.run_forever()))
    if server.settings.run_scheduler:
        server.scheduler = SchedulerService(server.rt)
        await server.scheduler.start()
    names = ", ".join(p.info.name for p in server.platforms) or "none"
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
