"""Pigeon post: a small platform that lives in the tests and proves the platform contract.

It implements everything a platform supplies (bot/platforms.py) and nothing else: its own
settings (PIGEON_URL), its ids in the org file (a person's `pigeon:`, a team's
`channels: {pigeon: ...}`), its HTTP route (POST /pigeon/events, JSON), its outbox sender
(POST <PIGEON_URL>/deliver, JSON) and a `looplink pigeon coo` command. The suite registers it
with one line, `(*PLATFORMS, PIGEON)`, exactly as looplink/platforms.py lists the real ones.

An event is `{"id": ..., "user": ..., "kind": "text"|"action"|"submit", "channel": ...,
"text"|"action"+"value"|"form"+"values"}`. Answers to the person are queued in the outbox
with the change (persist before acknowledging) and delivered as direct messages.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import Delivery, Sender, SendResult, enqueue
from bot.platform_info import PlatformInfo
from bot.platforms import CliContext, Platform
from bot.runtime import Runtime
from bot.settings import Settings, env_text
from flows.events import FlowResult, Inbound
from flows.router import handle

INFO = PlatformInfo("pigeon", "Pigeon post", person_keys=("pigeon",), channel_key="pigeon")


@dataclass(frozen=True)
class PigeonSettings:
    url: str  # where the pigeon loft takes deliveries


class PigeonSender:
    platform = INFO.name

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http: aiohttp.ClientSession | None = None

    async def deliver(self, delivery: Delivery) -> SendResult:
        a = delivery.address
        if a.platform_id is None:
            return SendResult(ok=False, permanent=True, error="no pigeon id")
        body = {
            "to": a.platform_id,
            "kind": a.dest_kind,
            "text": delivery.message.plain(),
            "edit": (delivery.previous or {}).get("n"),
        }
        assert self.http is not None
        async with self.http.post(f"{self.url}/deliver", json=body) as r:
            if r.status != 200:
                return SendResult(ok=False, error=f"HTTP {r.status}")
            return SendResult(ok=True, ref=await r.json())


class PigeonPlatform:
    info = INFO

    def __init__(self, rt: Runtime, settings: PigeonSettings) -> None:
        self.rt = rt
        self._sender = PigeonSender(settings.url)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/pigeon/events", self.events)

    def sender(self) -> Sender:
        return self._sender

    def people(self) -> None:
        return None  # no directory to look people up in

    async def start(self) -> None:
        self._sender.http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._sender.http is not None:
            await self._sender.http.close()

    async def events(self, request: web.Request) -> web.Response:
        e = await request.json()
        kind = e["kind"]
        ev = Inbound(
            INFO.name,
            e["user"],
            kind,
            text=e.get("text", ""),
            action=e.get("action", ""),
            value=e.get("value", ""),
            form_id=e.get("form", ""),
            values=e.get("values", {}),
            context=e.get("context", {}),
            channel=e.get("channel"),
            delivery_id=f"pigeon:{e['id']}",
        )

        async def queue(s: AsyncSession, result: FlowResult) -> None:
            for m in result.replies:
                if result.person_id is not None:
                    now = self.rt.clock.now()
                    await enqueue(
                        s, self.rt.fanout, now, "person", result.person_id, m, platform=INFO.name
                    )

        result = await handle(self.rt, ev, queue_replies=queue)
        form = None if result.form is None else result.form.form_id
        return web.json_response({"ok": True, "queued": result.queued, "form": form})


class PigeonAdapter:
    info = INFO

    def settings_from_env(self, env: Mapping[str, str]) -> PigeonSettings | None:
        url = env_text(env, "PIGEON_URL")
        return PigeonSettings(url) if url else None

    def build(self, rt: Runtime, settings: Settings) -> Platform:
        return PigeonPlatform(rt, settings.platform(INFO.name, PigeonSettings))

    def add_commands(self, subparsers: Any, ctx: CliContext) -> None:
        p = subparsers.add_parser("pigeon", help="pigeon post")
        p.add_argument("what", choices=["coo"])
        p.set_defaults(func=lambda args: _coo(args, ctx))


def _coo(args: argparse.Namespace, ctx: CliContext) -> int:
    enabled = [p.name for p in ctx.enabled(ctx.settings(args))]
    print(f"coo ({'enabled' if INFO.name in enabled else 'not enabled'})")
    return 0


PIGEON = PigeonAdapter()


class Loft:
    """The pigeon platform's far end: a real HTTP server on port 0 that records deliveries;
    `failing` answers 500 (an outage) until it is set back to False."""

    def __init__(self) -> None:
        self.delivered: list[dict[str, Any]] = []
        self.failing = False
        self.refused = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Loft:
        app = web.Application()
        app.router.add_post("/deliver", self._deliver)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _deliver(self, request: web.Request) -> web.Response:
        if self.failing:
            self.refused += 1
            return web.Response(status=500)
        body = await request.json()
        self.delivered.append(body)
        return web.json_response({"n": len(self.delivered) - 1})

    def to(self, who: str) -> list[dict[str, Any]]:
        return [d for d in self.delivered if d["to"] == who]
