"""The local platform in the server: messages are stored for the playground to show."""

from __future__ import annotations

from aiohttp import web

from adapters.local.adapter import LocalSender
from adapters.local.settings import INFO
from adapters.local.web import mount_context
from bot.outbox import Sender
from bot.runtime import Runtime
from bot.settings import Settings


class LocalPlatform:
    info = INFO

    def __init__(self, rt: Runtime, settings: Settings) -> None:
        self.rt = rt
        self.settings = settings
        self._sender = LocalSender(rt.db, rt.clock)

    def add_routes(self, app: web.Application) -> None:
        """The browser playground (adapters/local/playground.py); the dashboard is always on."""
        from adapters.local.playground import add_playground_routes

        mount_context(app, self.rt, self.settings)
        add_playground_routes(app, self.rt, self._sender)

    def sender(self) -> Sender:
        return self._sender

    def people(self) -> None:
        return None  # no directory to look people up in

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
