"""Helpers for the playground, dashboard and browser tests: a real server, and waiting for
the outbox to deliver (on events, never sleeping)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.local.playground import PLAYGROUND_KEY
from bot.clock import Clock
from bot.db.models import Outbox
from bot.settings import Settings
from looplink.server import SERVER, Server, build_server
from tests.client import Client
from tests.settings_support import make_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
FETCH = {"X-Playground": "fetch"}


def settings_for(db_url: str, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": db_url,
        "org_file": EXAMPLE_ORG,
        "local_enabled": True,
        "demo": True,
        "run_scheduler": False,
    }
    return make_settings(**{**base, **kw})


@asynccontextmanager
async def serving(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Client]:
    server = await build_server(settings, clock=clock)
    async with TestClient(TestServer(server.app)) as client:
        yield client


def server_of(client: Client) -> Server:
    return client.app[SERVER]


async def settle(client: Client, timeout: float = 10.0) -> None:
    """Wait until the running dispatcher has delivered every pending outbox row."""
    server = server_of(client)
    sender = client.app[PLAYGROUND_KEY].sender
    q: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    sender.listeners.append(q)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with server.rt.db.transaction() as s:
                    pending = await s.scalar(
                        select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
                    )
                if not pending:
                    return
                server.rt.dispatcher.wake.set()
                # a delivery is announced just before it is recorded as sent: look again soon
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(q.get(), timeout=0.05)
    finally:
        sender.listeners.remove(q)


async def act(client: Client, who: str, conv: str = "dm", **data: str) -> dict[str, str]:
    """Do something in the playground as `who`, the way the page's script does."""
    resp = await client.post("/play/act", data={"as": who, "conv": conv, **data}, headers=FETCH)
    assert resp.status == 200, await resp.text()
    out: dict[str, str] = await resp.json()
    await settle(client)
    return out


async def page(client: Client, who: str, conv: str = "dm") -> str:
    resp = await client.get("/", params={"as": who, "conv": conv})
    assert resp.status == 200
    return await resp.text()


def text_of(html: str) -> str:
    """Rough visible text of an HTML fragment (tags dropped, whitespace squeezed)."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())
