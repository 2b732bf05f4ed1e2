"""`looplink chat`: the whole loop in a terminal, acting as any org member.

Type text to write to the bot as the current person. Lines starting with ':' are for the
terminal itself: ':as dana', ':who', ':inbox', ':press 2', ':quit'. '/barrier ...' runs a
slash command (which opens a form; you fill it in field by field).
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from adapters.local.adapter import LocalChat, LocalSender
from adapters.local.settings import INFO
from bot.clock import SystemClock
from bot.db.models import Person
from bot.db.session import Database
from bot.messages import Button, Form, Message
from bot.outbox import Fanout
from bot.runtime import Runtime
from flows.events import FlowResult

HELP = """Commands: :as PERSON  :who  :inbox  :press N  :help  :quit
Write anything else to talk to Looplink as the current person (try 'help' or 'barrier').
Slash commands work too: /barrier TEXT, /success TEXT, /kudos @person for ..., /looplink status"""


class Terminal:
    def __init__(self, rt: Runtime, person: str) -> None:
        self.rt = rt
        self.chat = LocalChat(rt)
        self.person = person
        self.buttons: list[Button] = []
        self.seen: set[int] = set()

    async def ask(self, prompt: str) -> str:
        return (await asyncio.to_thread(input, prompt)).strip()

    def show(self, header: str, m: Message) -> None:
        print(f"\n── {header}")
        body = m.plain()
        for b in m.buttons:
            self.buttons.append(b)
            body = body.replace(f"[{b.label}]", f"[{len(self.buttons)}: {b.label}]", 1)
        print("   " + body.replace("\n", "\n   "))

    async def show_result(self, r: FlowResult) -> None:
        self.buttons = []
        for m in r.replies:
            self.show("Looplink (only you see this)", m)
        await self.show_new()
        if r.form is not None:
            await self.fill(r.form)

    async def show_new(self) -> None:
        for rec in await self.chat.everything_for(self.person):
            if rec.id in self.seen:
                continue
            self.seen.add(rec.id)
            where = "DM" if rec.dest_kind == "person" else f"#{rec.dest_id}"
            self.show(f"{where}", rec.message)

    async def fill(self, form: Form) -> None:
        print(f"\n[{form.title}] (leave empty to skip an optional field; ':cancel' to abandon)")
        values: dict[str, str] = {}
        for f in form.fields:
            extra = ""
            if f.options:
                extra = " (" + ", ".join(o.value for o in f.options) + ")"
            if f.hint:
                print(f"   {f.hint}")
            prompt = (
                f"  {f.label}{extra}{' *' if f.required else ''}"
                + (f" [{f.initial}]" if f.initial else "")
                + ": "
            )
            answer = await self.ask(prompt)
            if answer == ":cancel":
                print("Form abandoned; nothing was sent.")
                return
            values[f.name] = answer or f.initial
        result = await self.chat.submit(self.person, form.form_id, values, form.context)
        if result.errors:
            for name, err in result.errors.items():
                print(f"  ! {name}: {err}")
            await self.fill(form)
            return
        await self.show_result(result)

    async def who(self) -> None:
        async with self.rt.db.transaction() as s:
            people = (
                await s.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.id))
            ).all()
        print("  " + ", ".join(f"{p.id} ({p.name})" for p in people))

    async def run(self) -> None:
        print(HELP)
        await self.who()
        self.seen = {r.id for r in await self.chat.everything_for(self.person)}
        while True:
            try:
                line = await self.ask(f"\n{self.person}> ")
            except EOFError:
                return
            if not line:
                continue
            if line in (":quit", ":q", ":exit"):
                return
            if line == ":help":
                print(HELP)
            elif line == ":who":
                await self.who()
            elif line.startswith(":as "):
                self.person = line[4:].strip()
                self.seen = set()
                self.buttons = []
                print(f"You are now {self.person}. Everything they can see:")
                await self.show_new()
            elif line == ":inbox":
                self.seen = set()
                self.buttons = []
                await self.show_new()
            elif line.startswith(":press "):
                n = line[7:].strip()
                if not n.isdigit() or not 1 <= int(n) <= len(self.buttons):
                    print("  No such button.")
                    continue
                b = self.buttons[int(n) - 1]
                await self.show_result(await self.chat.press(self.person, b.action, b.value))
            elif line.startswith("/"):
                name, _, args = line[1:].partition(" ")
                await self.show_result(await self.chat.command(self.person, name, args))
            else:
                await self.show_result(await self.chat.say(self.person, line))


async def run_terminal_chat(db: Database, person: str) -> int:
    """Chat as `person` on `db` (prepared by the caller) until ':quit'; closes `db`."""
    rt = Runtime(db, SystemClock(), Fanout(platforms=()))
    rt.add_platform(INFO, LocalSender(db, rt.clock))
    try:
        await Terminal(rt, person).run()
    finally:
        with contextlib.suppress(Exception):
            await db.close()
    return 0
