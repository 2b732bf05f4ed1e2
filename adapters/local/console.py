"""The admin console (/console): teams, links, members and roles, people, schedules, the
calendar, edited in the browser by admins only.

The edits themselves are core (bot/org_edit.py: the org file's validator, the tables `org
apply` writes, an `OrgChange` per save); this module reads forms and renders pages. Who is an
admin: the admin token's session (and `looplink demo`, where anyone is anyone), or a signed-in
person listed under the org file's `admins:`; anyone else signed in gets 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from adapters.local.console_views import change_view, team_tree
from adapters.local.page_language import as_reader, in_page_language
from adapters.local.signin import (
    ADMIN,
    COOKIE,
    Handler,
    Locked,
    Visitor,
    _csrf_ok,
    form_expired,
    gate_of,
    mount_login,
    refused_cross_site,
    same_origin,
    settings_of,
    sign_in_offered,
    too_many,
    visitor,
)
from adapters.local.web import CSRF, WEB, html, mount_context, mount_static
from bot.authority import Authority
from bot.cadence import cadence, lead
from bot.directory import Directory
from bot.domain import Role
from bot.i18n import _
from bot.org_changes import recent, since_last_apply
from bot.org_doc import Doc, Invalid, Where, snapshot
from bot.org_edit import (
    Edit,
    PersonForm,
    TeamForm,
    deactivate_person,
    deactivate_team,
    find_people,
    save_calendar,
    save_person,
    save_team,
    team_form,
)
from bot.platform_info import PlatformInfo
from bot.runtime import Runtime
from bot.settings import Settings

PLATFORMS = web.AppKey("looplink_console_platforms", tuple[PlatformInfo, ...])
ROLES = [r.value for r in Role]
ACTOR = web.RequestKey("looplink_console_actor", str)


# ---- who may ----------------------------------------------------------------------------------


async def _someone(request: web.Request) -> Visitor | None:
    """The admin token's visitor, else whoever another sign-in's session belongs to."""
    who = await visitor(request)
    if who is not None:
        return who
    session = await gate_of(request).sessions.lookup(request.cookies.get(COOKIE))
    return Visitor(session.principal, session) if session is not None else None


async def _is_admin(request: web.Request, who: Visitor) -> bool:
    if who.principal in (ADMIN, "demo") or settings_of(request).demo:
        return True
    if who.person_id is None:  # a session of no person (e.g. "person:" prefix missing)
        return False
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        return await Authority(Directory(s)).is_admin(who.person_id)


def admin_only(handler: Handler) -> Handler:
    """Signed in (else the sign-in page), an admin (else 403), and for a POST this site's form
    with the session's CSRF token (else 403). In the reader's language (page_language.py)."""

    async def checked(request: web.Request) -> web.StreamResponse:
        try:
            who = await _someone(request)
        except Locked as e:
            return too_many(request, e.seconds, page=False)
        if who is None:
            if not sign_in_offered(settings_of(request)):
                return html("disabled.html", status=403, demo=False)
            if request.method == "GET":
                raise web.HTTPSeeOther(f"/login?next={request.path}")
            return web.Response(status=401, text=_("Sign in first."))
        return await as_reader(request, who.person_id, lambda r: admitted(r, who))

    async def admitted(request: web.Request, who: Visitor) -> web.StreamResponse:
        if request.method == "POST":
            if not same_origin(request):
                return web.Response(status=403, text=refused_cross_site())
            if who.session is not None and not await _csrf_ok(request, who.session):
                return web.Response(status=403, text=form_expired())
        if not await _is_admin(request, who):
            return html("console_forbidden.html", status=403, demo=False)
        CSRF.set(who.session.csrf if who.session is not None else "")
        request[ACTOR] = who.person_id or who.principal
        return await handler(request)

    return in_page_language(checked)


# ---- pages ------------------------------------------------------------------------------------


@dataclass
class Problems:
    """Problems by field of the entity on the form; the rest shown above it."""

    fields: dict[str, list[Where]] = field(default_factory=dict)
    general: list[Where] = field(default_factory=list)

    @classmethod
    def of(cls, problems: Sequence[Where], kind: str, ident: str) -> Problems:
        out = cls()
        for p in problems:
            name = p.about(kind, ident)
            if name:
                out.fields.setdefault(name, []).append(p)
            else:
                out.general.append(p)
        return out


def _platforms(request: web.Request) -> tuple[PlatformInfo, ...]:
    return request.app[PLATFORMS]


def _edit(request: web.Request, s: Any) -> Edit:
    rt = request.app[WEB].rt
    return Edit(s, _platforms(request), rt.clock.now(), request[ACTOR])


def _common(request: web.Request, doc: Doc) -> dict[str, Any]:
    settings = settings_of(request)
    return {
        "demo": settings.demo,
        "org_file": str(settings.org_file or ""),
        "org": doc.get("organization", ""),
        "signed_in": not settings.demo,
    }


async def overview(request: web.Request) -> web.StreamResponse:
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        doc = await snapshot(s, _platforms(request))
        pending = [change_view(c) for c in await since_last_apply(s)]
        changes = [change_view(c) for c in await recent(s)]
    cal = doc["calendar"]
    return html(
        "console.html",
        section="console",
        teams=team_tree(doc),
        people=len(doc["people"]),
        pending=pending,
        changes=changes,
        weekends=cal["weekends"],
        holidays="\n".join(str(d) for d in cal["holidays"]),
        problems=Problems(),
        saved=request.query.get("saved", ""),
        **_common(request, doc),
    )


def _team_page(
    request: web.Request,
    doc: Doc,
    form: TeamForm,
    creating: bool,
    problems: Problems,
    removing: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> web.Response:
    names = {p["id"]: p for p in doc["people"]}
    teams = sorted((t["id"], t["name"]) for t in doc["teams"] if t["id"] != form.id)
    return html(
        "console_team.html",
        status=status,
        section="console",
        form=form,
        creating=creating,
        problems=problems,
        people=names,
        members=[(p, r, False) for p, r in form.members] + [(p, r, True) for p, r in removing],
        parents=teams,
        roles=ROLES,
        channel_keys=[p.channel_key for p in _platforms(request) if p.channel_key],
        meeting=cadence(form.meeting),
        agenda=lead(form.agenda_before),
        digest=cadence(form.digest),
        recognition=cadence(form.recognition) if form.recognition.lower() != "off" else None,
        saved=request.query.get("saved", ""),
        **_common(request, doc),
    )


async def team_get(request: web.Request) -> web.StreamResponse:
    tid = request.match_info.get("tid")
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        doc = await snapshot(s, _platforms(request))
    if tid is None:
        form = TeamForm(
            timezone=str(doc.get("timezone") or ""), parent=request.query.get("parent", "")
        )
    else:
        found = team_form(doc, tid)
        if found is None:
            return html("not_found.html", status=404, demo=False)
        form = found
    return _team_page(request, doc, form, tid is None, Problems())


def _team_form(
    data: MultiDictProxy[Any], tid: str | None, keys: Sequence[str]
) -> tuple[TeamForm, list[tuple[str, str]]]:
    """The form as typed; members marked "remove" come back apart (shown, still marked)."""

    def get(key: str, default: str = "") -> str:
        return str(data.get(key, default))

    members: list[tuple[str, str]] = []
    removing: list[tuple[str, str]] = []
    for key in data:
        if key.startswith("role:"):
            pid, role = key[5:], get(key)
            if role == "remove":
                removing.append((pid, get(f"was:{pid}", "member")))
            else:
                members.append((pid, role))
    form = TeamForm(
        id=tid if tid is not None else get("id").strip(),
        name=get("name"),
        level=get("level"),
        parent=get("parent"),
        response_days=get("response_days"),
        timezone=get("timezone"),
        channels={k: get(f"channel:{k}") for k in keys},
        meeting=get("meeting"),
        agenda_before=get("agenda_before"),
        digest=get("digest"),
        recognition=get("recognition"),
        members=members,
        add_person=get("add_person"),
        add_role=get("add_role", "member"),
    )
    return form, removing


async def team_post(request: web.Request) -> web.StreamResponse:
    tid = request.match_info.get("tid")
    keys = [p.channel_key for p in _platforms(request) if p.channel_key]
    form, removing = _team_form(await request.post(), tid, keys)
    rt = request.app[WEB].rt
    try:
        async with rt.db.transaction() as s:
            await save_team(_edit(request, s), form, creating=tid is None)
    except Invalid as e:
        async with rt.db.transaction() as s:
            doc = await snapshot(s, _platforms(request))
        problems = Problems.of(e.problems, "team", form.id.strip())
        return _team_page(request, doc, form, tid is None, problems, removing, status=422)
    raise web.HTTPSeeOther(f"/console/teams/{form.id.strip()}?saved=1")


async def team_deactivate(request: web.Request) -> web.StreamResponse:
    tid = request.match_info["tid"]
    rt = request.app[WEB].rt
    try:
        async with rt.db.transaction() as s:
            await deactivate_team(_edit(request, s), tid)
    except Invalid as e:
        async with rt.db.transaction() as s:
            doc = await snapshot(s, _platforms(request))
        found = team_form(doc, tid)
        if found is None:
            return html("not_found.html", status=404, demo=False)
        return _team_page(
            request, doc, found, False, Problems(general=list(e.problems)), status=422
        )
    raise web.HTTPSeeOther("/console?saved=deactivated")


async def people_get(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "")
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        doc = await snapshot(s, _platforms(request))
        found = [
            {"id": p.id, "name": p.name, "email": p.email or "", "active": p.active}
            for p in await find_people(s, query)
        ]
    return _people_page(request, doc, query, found, PersonForm(), Problems())


def _people_page(
    request: web.Request,
    doc: Doc,
    query: str,
    found: list[dict[str, Any]],
    form: PersonForm,
    problems: Problems,
    status: int = 200,
) -> web.Response:
    teams_of: dict[str, list[str]] = {}
    for t in doc["teams"]:
        for m in t["members"]:
            teams_of.setdefault(m["person"], []).append(t["name"])
    return html(
        "console_people.html",
        status=status,
        section="console",
        query=query,
        found=found,
        teams_of=teams_of,
        form=form,
        problems=problems,
        saved=request.query.get("saved", ""),
        **_common(request, doc),
    )


async def person_post(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    form = PersonForm(
        str(data.get("id", "")).strip(),
        str(data.get("name", "")),
        str(data.get("email", "")),
        str(data.get("language", "")),
    )
    rt = request.app[WEB].rt
    try:
        async with rt.db.transaction() as s:
            await save_person(_edit(request, s), form, creating=True)
    except Invalid as e:
        async with rt.db.transaction() as s:
            doc = await snapshot(s, _platforms(request))
        problems = Problems.of(e.problems, "person", form.id)
        return _people_page(request, doc, "", [], form, problems, status=422)
    raise web.HTTPSeeOther(f"/console/people?q={form.id}&saved=1")


async def person_deactivate(request: web.Request) -> web.StreamResponse:
    pid = request.match_info["pid"]
    rt = request.app[WEB].rt
    try:
        async with rt.db.transaction() as s:
            await deactivate_person(_edit(request, s), pid)
    except Invalid as e:
        async with rt.db.transaction() as s:
            doc = await snapshot(s, _platforms(request))
        return _people_page(
            request, doc, pid, [], PersonForm(), Problems(general=list(e.problems)), status=422
        )
    raise web.HTTPSeeOther(f"/console/people?q={pid}&saved=deactivated")


async def calendar_post(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    weekends, holidays = str(data.get("weekends", "pause")), str(data.get("holidays", ""))
    rt = request.app[WEB].rt
    try:
        async with rt.db.transaction() as s:
            await save_calendar(_edit(request, s), weekends, holidays)
    except Invalid as e:
        async with rt.db.transaction() as s:
            doc = await snapshot(s, _platforms(request))
            pending = [change_view(c) for c in await since_last_apply(s)]
            changes = [change_view(c) for c in await recent(s)]
        return html(
            "console.html",
            status=422,
            section="console",
            teams=team_tree(doc),
            people=len(doc["people"]),
            pending=pending,
            changes=changes,
            weekends=weekends,
            holidays=holidays,
            problems=Problems(
                fields={"holidays": [p for p in e.problems if p.path[:1] == ("calendar",)]},
                general=[p for p in e.problems if p.path[:1] != ("calendar",)],
            ),
            saved="",
            **_common(request, doc),
        )
    raise web.HTTPSeeOther("/console?saved=calendar#calendar")


def add_console_routes(
    app: web.Application, rt: Runtime, settings: Settings, platforms: Sequence[PlatformInfo]
) -> None:
    mount_context(app, rt, settings)
    mount_static(app)
    mount_login(app)
    app[PLATFORMS] = tuple(platforms)
    app.router.add_get("/console", admin_only(overview))
    app.router.add_post("/console/calendar", admin_only(calendar_post))
    app.router.add_get("/console/teams/new", admin_only(team_get))
    app.router.add_post("/console/teams/new", admin_only(team_post))
    app.router.add_get("/console/teams/{tid}", admin_only(team_get))
    app.router.add_post("/console/teams/{tid}", admin_only(team_post))
    app.router.add_post("/console/teams/{tid}/deactivate", admin_only(team_deactivate))
    app.router.add_get("/console/people", admin_only(people_get))
    app.router.add_post("/console/people", admin_only(person_post))
    app.router.add_post("/console/people/{pid}/deactivate", admin_only(person_deactivate))
