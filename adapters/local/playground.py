"""The browser playground: be anyone in the organisation, see what they see, do what they can.

Routes (mounted by LocalPlatform when the local platform is enabled):

    GET  /                      pick who you are, or (?as=carol&conv=dm|team:lincoln) their view
    GET  /play/messages         one conversation's messages, as an HTML fragment (live refresh)
    POST /play/act              type text, press a button, submit or cancel a form
    POST /play/run              run a team's scheduled message now (agenda, digest, ...)
    GET  /play/events?as=carol  server-sent events: "something arrived in conversation X"

Everything a person does becomes a neutral `Inbound` for `flows.router.handle`, exactly as the
Slack and Teams adapters do; what the bot sends arrives through the outbox and LocalSender.
Pages work without JavaScript (forms post, then redirect); the script adds live updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy import func, select

from adapters.local.adapter import LocalSender
from adapters.local.dashboard_data import short, team_tree
from adapters.local.playground_state import Key, OpenForm, Scratch
from adapters.local.settings import INFO
from adapters.local.signin import admin_only, mount_login, protected, settings_of
from adapters.local.web import html, mount_static, render
from bot import i18n
from bot.db.models import LocalMessage, Membership, Outbox, Person, Team
from bot.directory import Directory
from bot.messages import Form, Message
from bot.runtime import Runtime
from flows.events import FlowResult, Inbound, InboundKind
from flows.router import handle

log = logging.getLogger("looplink.playground")

JOBS = {  # the scheduled jobs a person can run now from a team channel (scheduler.api)
    "agenda": "meeting agenda",
    "digest": "weekly digest",
    "roundup": "recognition roundup",
    "progress": "progress message",
    "nudges": "nudges",
}
STOP = ("", "")  # put on a live-update queue to end the stream (server shutting down)
PING_SECONDS = 15.0
MAX_MESSAGES = 200


@dataclass
class Conv:
    key: str  # "dm" or "team:<id>"
    dest_kind: str  # "person" or "team"
    dest_id: str
    title: str
    team: Team | None = None
    role: str = ""


@dataclass
class Who:
    person: Person
    teams: list[tuple[Team, str]]  # (team, role), in tree order

    @property
    def id(self) -> str:
        return self.person.id

    def convs(self) -> list[Conv]:
        out = [Conv("dm", "person", self.person.id, i18n._("Direct messages with Looplink"))]
        for team, role in self.teams:
            out.append(Conv(f"team:{team.id}", "team", team.id, team.name, team, role))
        return out

    def conv(self, key: str | None) -> Conv | None:
        for c in self.convs():
            if c.key == (key or "dm"):
                return c
        return None


@dataclass
class Entry:
    kind: str  # "message" or a note kind
    id: int  # message id, or note sequence
    message: Message | None
    text: str
    at: datetime
    edited: bool = False


class Playground:
    def __init__(self, rt: Runtime, sender: LocalSender) -> None:
        self.rt = rt
        self.sender = sender
        self.scratch = Scratch()
        self._streams: set[asyncio.Queue[tuple[str, str]]] = set()

    # ---- reading ---------------------------------------------------------------------------

    async def people(self) -> list[tuple[Person, str]]:
        """Every active person with a short description (home team and role)."""
        async with self.rt.db.transaction() as s:
            people = (
                await s.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.name))
            ).all()
            rows = (
                await s.execute(
                    select(Membership.person_id, Team.name, Membership.role)
                    .join(Team, Team.id == Membership.team_id)
                    .where(Membership.active.is_(True), Team.active.is_(True))
                )
            ).all()
        where: dict[str, list[str]] = {}
        for pid, tname, role in rows:
            where.setdefault(pid, []).append(f"{short(tname)} ({role})")
        return [(p, ", ".join(sorted(where.get(p.id, []))) or "no team") for p in people]

    async def teams(self) -> list[Team]:
        async with self.rt.db.transaction() as s:
            teams = (await s.scalars(select(Team).where(Team.active.is_(True)))).all()
        return [t for t, _depth in team_tree(teams)]

    async def who(self, person_id: str) -> Who | None:
        async with self.rt.db.transaction() as s:
            person = await s.get(Person, person_id)
            if person is None or not person.active:
                return None
            teams = {
                t.id: t for t in (await s.scalars(select(Team).where(Team.active.is_(True)))).all()
            }
            rows = await s.execute(
                select(Membership.team_id, Membership.role).where(
                    Membership.person_id == person_id, Membership.active.is_(True)
                )
            )
            roles = {team_id: role for team_id, role in rows.all()}
        ordered = [
            (t, roles[t.id]) for t, _depth in team_tree(list(teams.values())) if t.id in roles
        ]
        return Who(person, ordered)

    async def last_id(self) -> int:
        async with self.rt.db.transaction() as s:
            return int(await s.scalar(select(func.max(LocalMessage.id))) or 0)

    async def entries(self, who: Who, conv: Conv) -> list[Entry]:
        async with self.rt.db.transaction() as s:
            rows = (
                await s.scalars(
                    select(LocalMessage)
                    .where(
                        LocalMessage.dest_kind == conv.dest_kind,
                        LocalMessage.dest_id == conv.dest_id,
                    )
                    .order_by(LocalMessage.id.desc())
                    .limit(MAX_MESSAGES)
                )
            ).all()
        stored = [
            (
                (r.id, 0),
                Entry(
                    "message",
                    r.id,
                    Message.from_json(r.payload),
                    "",
                    r.created_at,
                    r.updated_at != r.created_at,
                ),
            )
            for r in rows
        ]
        notes = [
            ((n.after_id, n.seq), Entry(n.kind, n.seq, n.message, n.text, n.at))
            for n in self.scratch.notes((who.id, conv.key))
        ]
        return [e for _, e in sorted(stored + notes, key=lambda x: x[0])]

    # ---- pages -----------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        person_id = request.query.get("as", "").strip()
        if not person_id:
            return await self.picker()
        who = await self.who(person_id)
        if who is None:
            return html(
                "not_found.html",
                status=404,
                what=i18n._(
                    "There is no active person called '%(id)s' in this organisation.", id=person_id
                ),
            )
        with i18n.speaking(await self._reader(who)):
            conv = who.conv(request.query.get("conv"))
            if conv is None:
                return html(
                    "not_found.html",
                    status=404,
                    what=i18n._("%(name)s cannot see that conversation.", name=who.person.name),
                    back=f"/?as={who.id}",
                )
            return html(
                "playground.html",
                who=who,
                conv=conv,
                convs=who.convs(),
                people=await self.people(),
                teams=await self.teams(),
                entries=await self.entries(who, conv),
                open_form=self.scratch.form((who.id, conv.key)),
                form_nonce=self._form_nonce(who, conv),
                jobs=JOBS,
                nonce=new_nonce,
                tz=await self._tz(),
                signed_in_with_token=not settings_of(request).demo,
            )

    async def picker(self) -> web.StreamResponse:
        async with self.rt.db.transaction() as s:
            teams = (await s.scalars(select(Team).where(Team.active.is_(True)))).all()
            rows = (
                await s.execute(
                    select(Membership.team_id, Person, Membership.role)
                    .join(Person, Person.id == Membership.person_id)
                    .where(Membership.active.is_(True), Person.active.is_(True))
                    .order_by(Person.name)
                )
            ).all()
        org = await self._setting("organization", "")
        members: dict[str, list[tuple[Person, str]]] = {}
        for team_id, person, role in rows:
            members.setdefault(team_id, []).append((person, role))
        # nobody chosen yet: the visitor's language (page_language.py, set by `protected`)
        return html("pick.html", tree=team_tree(list(teams)), members=members, org=org, people=None)

    async def messages_fragment(self, request: web.Request) -> web.StreamResponse:
        who, conv = await self._who_conv(request.query)
        return web.Response(
            text=await self._messages_html(who, conv),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def _reader(self, who: Who) -> i18n.Reader:
        """The page reads in the language of the person it shows (their DMs do too)."""
        async with self.rt.db.transaction() as s:
            return await Directory(s).person_reader(who.person.id)

    async def _messages_html(self, who: Who, conv: Conv) -> str:
        with i18n.speaking(await self._reader(who)):
            return render(
                "_messages.html",
                who=who,
                conv=conv,
                entries=await self.entries(who, conv),
                nonce=new_nonce,
                tz=await self._tz(),
            )

    async def _panel_html(self, who: Who, conv: Conv) -> str:
        with i18n.speaking(await self._reader(who)):
            return render(
                "_panel.html",
                who=who,
                conv=conv,
                open_form=self.scratch.form((who.id, conv.key)),
                form_nonce=self._form_nonce(who, conv),
            )

    def _form_nonce(self, who: Who, conv: Conv) -> Callable[[], str]:
        """The open form keeps one delivery id, so a double submit is handled once."""
        of = self.scratch.form((who.id, conv.key))
        return (lambda: of.nonce) if of is not None else new_nonce

    async def _who_conv(self, data: MultiMapping[Any]) -> tuple[Who, Conv]:
        who = await self.who(str(data.get("as") or "").strip())
        if who is None:
            raise web.HTTPNotFound(text="There is no such active person.")
        conv = who.conv(str(data.get("conv") or "dm"))
        if conv is None:
            raise web.HTTPNotFound(text="That person cannot see that conversation.")
        return who, conv

    async def _setting(self, key: str, default: str) -> str:
        from bot.db.models import Setting

        async with self.rt.db.transaction() as s:
            row = await s.get(Setting, key)
        return str(row.value) if row is not None and row.value else default

    async def _tz(self) -> str:
        return await self._setting("timezone", "UTC")

    # ---- acting ----------------------------------------------------------------------------

    async def act(self, request: web.Request) -> web.StreamResponse:
        data = await request.post()
        who, conv = await self._who_conv(data)
        key: Key = (who.id, conv.key)
        kind = "cancel" if data.get("cancel") else str(data.get("kind") or "")
        delivery = f"play-{str(data.get('nonce') or '')[:64] or new_nonce()}"
        channel = conv.team.id if conv.team else None

        def inbound(kind: InboundKind, **kw: Any) -> Inbound:
            return Inbound(
                INFO.name,
                who.id,
                kind,
                channel=channel,
                delivery_id=delivery,
                **kw,
            )

        ev: Inbound | None = None
        submitted: OpenForm | None = None
        now = self.rt.clock.now()
        if kind == "text":
            text = str(data.get("text") or "").strip()
            if text:
                self.scratch.note(key, "you", await self.last_id(), now, text=text)
                if text.startswith("/") and len(text) > 1:  # a slash command, as in Slack
                    name, _, args = text[1:].partition(" ")
                    ev = inbound("command", command=name, text=args)
                else:
                    ev = inbound("text", text=text)
        elif kind == "action":
            action, value = str(data.get("action") or ""), str(data.get("value") or "")
            ev = inbound("action", action=action, value=value)
        elif kind == "submit":
            submitted = self._submitted(key, data)
            ev = inbound(
                "submit",
                form_id=submitted.form.form_id,
                values=flat(submitted.values),
                context=dict(submitted.form.context),
            )
        elif kind == "cancel":
            self.scratch.close_form(key)
        else:
            raise web.HTTPBadRequest(text="Unknown playground action.")
        if ev is not None:
            result = await handle(self.rt, ev)
            self.rt.dispatcher.wake.set()  # deliver what this caused right away
            await self._apply(key, conv, ev, result, submitted)
        return await self._respond(request, who, conv)

    def _submitted(self, key: Key, data: MultiMapping[Any]) -> OpenForm:
        """The form being submitted: the open one if it matches, else rebuilt from the post."""
        form_id = str(data.get("form_id") or "")
        current = self.scratch.form(key)
        if current is not None and current.form.form_id == form_id:
            form = current.form
        else:  # a form shown inside a message; its definition travels with the post
            form = Form(
                form_id=form_id,
                title=str(data.get("form_title") or form_id),
                fields=(),
                context={k[2:]: str(v) for k, v in data.items() if k.startswith("c.")},
            )
        values: dict[str, str | list[str]] = {}
        names = {f.name: f for f in form.fields}
        for k in {k for k in data if k.startswith("f.")}:
            name = k[2:]
            field = names.get(name)
            got = [str(v) for v in data.getall(k)]
            values[name] = got if field is not None and field.kind == "multiselect" else got[-1]
        for f in form.fields:  # an unticked box or an empty multiselect is not posted at all
            if f.name not in values and f.kind in ("checkbox", "multiselect"):
                values[f.name] = [] if f.kind == "multiselect" else ""
        return OpenForm(form, values)

    async def _apply(
        self, key: Key, conv: Conv, ev: Inbound, result: FlowResult, submitted: OpenForm | None
    ) -> None:
        if result.duplicate:
            return
        now = self.rt.clock.now()
        after = await self.last_id()
        if submitted is not None:
            if result.errors:
                submitted.errors = dict(result.errors)
                if submitted.form.fields:
                    self.scratch.keep_form(key, submitted)
                else:
                    for msg in result.errors.values():
                        self.scratch.note(key, "error", after, now, text=msg)
            else:
                self.scratch.close_form(key)
        for reply in result.replies:
            self.scratch.note(key, "reply", after, now, message=reply)
        if result.form is not None:
            self.scratch.open_form(key, result.form)
        quiet = not result.replies and result.form is None and not result.errors
        if quiet and ev.kind == "text" and conv.team is not None:
            self.scratch.note(
                key,
                "info",
                after,
                now,
                text="In a team channel Looplink only answers commands (like 'agenda add ...' or 'status'). Write to Looplink in your direct messages to report something.",
            )

    async def _respond(self, request: web.Request, who: Who, conv: Conv) -> web.StreamResponse:
        if request.headers.get("X-Playground") == "fetch":
            return web.json_response(
                {
                    "messages": await self._messages_html(who, conv),
                    "panel": await self._panel_html(who, conv),
                },
                headers={"Cache-Control": "no-store"},
            )
        raise web.HTTPSeeOther(
            "/?" + urlencode({"as": who.id, "conv": conv.key}) + "#" + anchor(self, who, conv)
        )

    async def run_now(self, request: web.Request) -> web.StreamResponse:
        data = await request.post()
        who, conv = await self._who_conv(data)
        key: Key = (who.id, conv.key)
        job = str(data.get("job") or "")
        team_id = str(data.get("team") or "")
        async with self.rt.db.transaction() as s:
            team = await s.get(Team, team_id)
        now = self.rt.clock.now()
        if job not in JOBS or team is None:
            self.scratch.note(key, "error", await self.last_id(), now, text="Unknown job or team.")
            return await self._respond(request, who, conv)
        try:
            from scheduler.api import run_job_now
        except ModuleNotFoundError:
            self.scratch.note(
                key,
                "error",
                await self.last_id(),
                now,
                text="Scheduled messages are not part of this build (the scheduler package is missing).",
            )
            return await self._respond(request, who, conv)
        before = await self._last_outbox_id()
        try:
            count = await run_job_now(self.rt, team.id, job)
        except Exception as e:
            log.exception("run now: %s for %s failed", job, team.id)
            text = f"The {JOBS[job]} for {team.name} could not run: {e}"
            self.scratch.note(key, "error", await self.last_id(), now, text=text)
        else:
            self.rt.dispatcher.wake.set()
            where = await self._destinations(before)
            text = (
                f"Ran the {JOBS[job]} for {team.name} now: {count} message{'s' if count != 1 else ''}, {where}."
                if count
                else f"Ran the {JOBS[job]} for {team.name} now: nothing to send at the moment."
            )
            self.scratch.note(key, "info", await self.last_id(), now, text=text)
        return await self._respond(request, who, conv)

    async def _last_outbox_id(self) -> int:
        async with self.rt.db.transaction() as s:
            return int(await s.scalar(select(func.max(Outbox.id))) or 0)

    async def _destinations(self, after_outbox_id: int) -> str:
        """Where the messages queued since `after_outbox_id` go, in words."""
        async with self.rt.db.transaction() as s:
            rows = (
                await s.execute(
                    select(Outbox.dest_kind, Outbox.dest_id)
                    .where(Outbox.id > after_outbox_id, Outbox.platform == "local")
                    .order_by(Outbox.id)
                )
            ).all()
            teams = {t.id: t.name for t in (await s.scalars(select(Team))).all()}
            people = {p.id: p.name for p in (await s.scalars(select(Person))).all()}
        places: list[str] = []
        for kind, dest in rows:
            name = (
                f"the {short(teams.get(dest, dest))} channel"
                if kind == "team"
                else f"{people.get(dest, dest)}'s direct messages"
            )
            if name not in places:
                places.append(name)
        if not places:
            return "delivered elsewhere"
        return "in " + (
            ", ".join(places[:-1]) + " and " + places[-1] if len(places) > 1 else places[0]
        )

    # ---- live updates ----------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: tells the page which of this person's conversations changed."""
        who = await self.who(request.query.get("as", "").strip())
        if who is None:
            raise web.HTTPNotFound(text="There is no such active person.")
        wanted = {(c.dest_kind, c.dest_id): c.key for c in who.convs()}
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await resp.prepare(request)
        q: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.sender.listeners.append(q)
        self._streams.add(q)
        try:
            await resp.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
            while True:
                try:
                    dest = await asyncio.wait_for(q.get(), timeout=PING_SECONDS)
                except TimeoutError:
                    await resp.write(b": ping\n\n")
                    continue
                if dest == STOP:
                    break
                conv = wanted.get(dest)
                if conv is not None:
                    payload = json.dumps({"conv": conv})
                    await resp.write(f"event: delivered\ndata: {payload}\n\n".encode())
        except ConnectionError:
            pass  # the browser went away
        finally:
            self._streams.discard(q)
            with contextlib.suppress(ValueError):
                self.sender.listeners.remove(q)
        return resp

    async def shutdown(self, _app: web.Application) -> None:
        for q in list(self._streams):
            q.put_nowait(STOP)


def new_nonce() -> str:
    return uuid.uuid4().hex


def flat(values: dict[str, str | list[str]]) -> dict[str, str]:
    """Form values as the neutral model carries them (several choices joined by commas)."""
    return {k: ",".join(v) if isinstance(v, list) else v for k, v in values.items()}


def anchor(pg: Playground, who: Who, conv: Conv) -> str:
    return "panel" if pg.scratch.form((who.id, conv.key)) is not None else "composer"


PLAYGROUND_KEY = web.AppKey("looplink_playground", Playground)


def add_playground_routes(app: web.Application, rt: Runtime, sender: LocalSender) -> Playground:
    pg = Playground(rt, sender)
    app[PLAYGROUND_KEY] = pg
    mount_static(app)
    mount_login(app)
    app.router.add_get("/", protected(admin_only(pg.page)))
    app.router.add_get("/play/messages", protected(admin_only(pg.messages_fragment)))
    app.router.add_post("/play/act", protected(admin_only(pg.act)))
    app.router.add_post("/play/run", protected(admin_only(pg.run_now)))
    app.router.add_get("/play/events", protected(admin_only(pg.events)))
    app.on_shutdown.append(pg.shutdown)
    return pg
