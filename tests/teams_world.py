"""The Teams test world: the real Looplink server (build_server) on an ephemeral port with Teams
enabled, the fake Bot Framework connector, and a client that posts Teams-shaped activities.

The background dispatcher is stopped, so tests deliver the outbox with `world.deliver()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import Item, Outbox
from looplink.server import Server, build_server
from tests.conftest import EXAMPLE_ORG
from tests.fakes.connector import FakeConnector
from tests.fakes.teams_client import TeamsClient
from tests.settings_support import make_settings


@dataclass
class World:
    server: Server
    connector: FakeConnector
    teams: TeamsClient
    clock: FixedClock

    async def deliver(self) -> int:
        return await self.server.rt.dispatcher.run_once()

    async def items(self) -> list[Item]:
        async with self.server.rt.db.transaction() as s:
            return list((await s.scalars(select(Item).order_by(Item.id))).all())

    async def outbox(self) -> list[Outbox]:
        async with self.server.rt.db.transaction() as s:
            return list((await s.scalars(select(Outbox).order_by(Outbox.id))).all())


@asynccontextmanager
async def teams_world(db_url: str, clock: FixedClock, **settings: Any) -> AsyncIterator[World]:
    connector = await FakeConnector().start()
    base: dict[str, Any] = {
        "database_url": db_url,
        "org_file": EXAMPLE_ORG,
        "teams_enabled": True,
        "teams_service_urls": (connector.url,),  # the fake connector, on its own loopback port
    }
    server = await build_server(make_settings(**{**base, **settings}), clock=clock)
    http_server = TestServer(server.app, host="127.0.0.1", port=0)
    await http_server.start_server()
    server.rt.dispatcher.stop()  # tests deliver the outbox themselves, deterministically
    for task in server._tasks:
        task.cancel()
    await asyncio.gather(*server._tasks, return_exceptions=True)
    session = aiohttp.ClientSession()
    try:
        yield World(
            server,
            connector,
            TeamsClient(session, str(http_server.make_url("/")), connector.url),
            clock,
        )
    finally:
        await session.close()
        await http_server.close()
        await connector.close()
