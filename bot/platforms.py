"""What an adapter offers the server: HTTP routes, an outbox sender, start/stop."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from bot.outbox import Sender


class Platform(Protocol):
    name: str

    def add_routes(self, app: web.Application) -> None:
        """Mount this platform's HTTP endpoints."""
        ...

    def sender(self) -> Sender:
        """The outbox sender that delivers neutral messages on this platform."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
