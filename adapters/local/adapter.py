"""Local delivery (messages stored in the database) and a driver to act as any org member."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from adapters.local.settings import INFO
from bot.clock import Clock, SystemClock
from bot.db.models import LocalMessage, Membership
from bot.db.session import Database
from bot.messages import Message
from bot.outbox import Delivery, SendResult
from bot.runtime import Runtime
from flows.events import FlowResult, Inbound, InboundKind
from flows.router import handle


class LocalSender:
    """Delivers a message by storing it; listeners hear about each delivery (live updates)."""

    platform = INFO.name

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.listeners: list[asyncio.Queue[tuple[str, str]]] = []

    async def deliver(self, delivery: Delivery) -> SendResult:
        a = delivery.address
        async with self.db.transaction() as s:
            row = None
            if delivery.previous is not None:
                row = await s.get(LocalMessage, int(delivery.previous["local_id"]))
            now = self.clock.now()
            if row is None:
                row = LocalMessage(
                    dest_kind=a.dest_kind,
                    dest_id=a.dest_id,
                    update_key=delivery.update_key,
                    payload=delivery.message.to_json(),
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
            else:
                row.payload = delivery.message.to_json()
                row.updated_at = now
            await s.flush()
            ref = {"local_id": row.id}
        for q in list(self.listeners):
            q.put_nowait((a.dest_kind, a.dest_id))
        return SendResult(ok=True, ref=ref)


@dataclass
class Received:
    id: int
    dest_kind: str
    dest_id: str
    message: Message


class LocalChat:
    """Act as any person: `await chat.say("alice", "barrier ...")`, then read what arrived."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._seen: set[int] = set()
        self._seq = 0

    async def _run(self, ev: Inbound) -> FlowResult:
        result = await handle(self.rt, ev)
        await self.rt.dispatcher.run_once()
        return result

    def _id(self) -> str:
        self._seq += 1
        return f"local-{id(self)}-{self._seq}"

    def _event(self, person: str, kind: InboundKind, **kw: Any) -> Inbound:
        """An event from `person` (a Looplink id: the local platform's user ids are person ids)."""
        channel = kw.pop("channel", None)
        return Inbound(
            INFO.name,
            person,
            kind,
            channel=channel,
            delivery_id=self._id(),
            **kw,
        )

    async def say(self, person: str, text: str, channel: str | None = None) -> FlowResult:
        return await self._run(self._event(person, "text", text=text, channel=channel))

    async def command(self, person: str, name: str, args: str = "") -> FlowResult:
        return await self._run(self._event(person, "command", text=args, command=name))

    async def press(self, person: str, action: str, value: str = "") -> FlowResult:
        return await self._run(self._event(person, "action", action=action, value=value))

    async def submit(
        self,
        person: str,
        form_id: str,
        values: dict[str, str],
        context: dict[str, str] | None = None,
    ) -> FlowResult:
        ev = self._event(person, "submit", form_id=form_id, values=values, context=context or {})
        return await self._run(ev)

    async def messages(self, dest_kind: str, dest_id: str) -> list[Received]:
        async with self.rt.db.transaction() as s:
            rows = (
                await s.scalars(
                    select(LocalMessage)
                    .where(LocalMessage.dest_kind == dest_kind, LocalMessage.dest_id == dest_id)
                    .order_by(LocalMessage.id)
                )
            ).all()
        return [Received(r.id, r.dest_kind, r.dest_id, Message.from_json(r.payload)) for r in rows]

    async def dms(self, person: str) -> list[Received]:
        return await self.messages("person", person)

    async def channel(self, team: str) -> list[Received]:
        return await self.messages("team", team)

    async def everything_for(self, person: str) -> list[Received]:
        """What this person can see: their DMs and the channels of every team they are on."""
        async with self.rt.db.transaction() as s:
            teams = (
                await s.scalars(
                    select(Membership.team_id).where(
                        Membership.person_id == person, Membership.active.is_(True)
                    )
                )
            ).all()
        out = await self.dms(person)
        for t in teams:
            out += await self.channel(t)
        return sorted(out, key=lambda r: r.id)

    async def new(self, dest_kind: str, dest_id: str) -> list[Received]:
        """Messages for this destination not returned by `new` before (like popping a queue)."""
        fresh = [r for r in await self.messages(dest_kind, dest_id) if r.id not in self._seen]
        self._seen.update(r.id for r in fresh)
        return fresh
