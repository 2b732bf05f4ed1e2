"""Sign-in for the dashboard and the playground (outside `looplink demo`).

With LOOPLINK_ADMIN_TOKEN set, every page needs either `Authorization: Bearer TOKEN` (scripts)
or a browser session from the sign-in form. Without it the pages are turned off. `looplink
demo` needs no sign-in (it listens on this machine only, with demo data).

- **Sessions** are `bot.sessions`: a random id in an HttpOnly, SameSite=Lax cookie (Secure when
  the request came over HTTPS), stored hashed, ending after 12 hours, after 2 idle hours, and
  at sign-out; signing in replaces whatever session the browser had.
- **Guesses** at the token are throttled per client (`bot.throttle`): after 5 wrong ones in 15
  minutes the client is locked out for 15 minutes, right token or not (HTTP 429). Tokens are
  compared in constant time (as SHA-256 digests, so not even the length shows).
- **Forms** that post carry the session's CSRF token (`{{ csrf() }}` in the templates), and a
  POST must also come from this site (Origin); a POST with a session but without its token is
  refused.
- **The client** is the peer address, or, when the peer is one of LOOPLINK_TRUSTED_PROXIES, the
  address it reports in X-Forwarded-For; likewise X-Forwarded-Proto is believed only from them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.local.oidc import Provider
from adapters.local.page_language import as_reader, in_page_language
from adapters.local.web import CSRF, WEB, html, mount_security_headers
from bot.db.models import Membership, Person
from bot.i18n import N_, _, ngettext
from bot.sessions import MAX_AGE, Session, SessionStore
from bot.settings import Settings
from bot.throttle import Throttle
from bot.visibility import EVERYTHING, NOTHING, Viewer, viewer_for

COOKIE = "looplink_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
ADMIN = "admin"
ADMIN_TOKEN = "admin-token"  # the sign-in method
DEMO = "demo"  # `looplink demo`: whoever the visitor chose to be
PERSON = "person:"  # a principal that is an org person: "person:<id>"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Gate:
    sessions: SessionStore
    throttle: Throttle


GATE = web.AppKey("looplink_gate", Gate)


@dataclass(frozen=True)
class Visitor:
    principal: str  # "admin" (the token), "demo" (the demo, anyone) or "person:<id>"
    session: Session | None  # None: a bearer token, or demo mode

    @property
    def person_id(self) -> str | None:
        return self.principal.removeprefix(PERSON) if self.principal.startswith(PERSON) else None


# Who is signed in, for the handler of the request being served (`protected` sets it; each
# request runs in its own task, so its own context).
WHO: ContextVar[Visitor] = ContextVar("looplink_visitor")


def settings_of(request: web.Request) -> Settings:
    return request.app[WEB].settings


def gate_of(request: web.Request) -> Gate:
    return request.app[GATE]


# ---- who is asking, over what ----------------------------------------------------------------


def _trusted(address: str | None, settings: Settings) -> bool:
    if not address or not settings.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip in net for net in settings.trusted_networks)


def client_of(request: web.Request) -> str:
    """The client's address: the peer, or what trusted proxies say the client was (the
    right-most X-Forwarded-For entry that is not itself a trusted proxy)."""
    settings = settings_of(request)
    peer = request.remote or "unknown"
    if not _trusted(peer, settings):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, settings):
            return hop[:64]
    return peer


def is_https(request: web.Request) -> bool:
    """Whether the browser's request came over HTTPS: our own TLS, or a trusted proxy's word
    (the last X-Forwarded-Proto value, the one the nearest proxy set)."""
    if request.secure:
        return True
    if not _trusted(request.remote, settings_of(request)):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return proto == "https"


def same_origin(request: web.Request) -> bool:
    """A POST from another site's page is refused (the cookie is SameSite too)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def _token_ok(given: str, token: str) -> bool:
    """Constant time, and the same time whatever the lengths (digests are compared)."""
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


class Locked(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = max(1, int(seconds + 0.999))


async def visitor(request: web.Request) -> Visitor | None:
    """Who is signed in for this request, if anyone. Raises Locked for a locked-out client
    trying the token."""
    settings = settings_of(request)
    gate = gate_of(request)
    if settings.demo:  # the demo: anyone, or whoever the visitor chose to be
        session = await gate.sessions.lookup(request.cookies.get(COOKIE))
        if session is not None and session.method == DEMO:
            return Visitor(session.principal, session)
        return Visitor("demo", None)
    token = settings.admin_token
    auth = request.headers.get("Authorization", "")
    if token and auth.lower().startswith("bearer "):
        client = client_of(request)
        left = gate.throttle.locked(client)
        if left is not None:
            raise Locked(left)
        if _token_ok(auth[7:].strip(), token):
            gate.throttle.succeeded(client)
            return Visitor(ADMIN, None)
        gate.throttle.failed(client)
        return None
    session = await gate.sessions.lookup(request.cookies.get(COOKIE))
    if session is None or session.method == DEMO:
        return None
    if session.method == ADMIN_TOKEN and not token:
        return None  # the token was turned off: what it opened closes with it
    return Visitor(session.principal, session)


def sign_in_offered(settings: Settings) -> bool:
    """Whether this server lets anyone sign in at all (else its pages are turned off)."""
    return bool(settings.demo or settings.admin_token or settings.sign_in)


TOKENS = "wrong tokens"
SIGN_INS = "failed sign-ins"


def too_many(request: web.Request, seconds: int, page: bool, what: str = TOKENS) -> web.Response:
    headers = {"Retry-After": str(seconds)}
    minutes = max(1, round(seconds / 60))
    if what == SIGN_INS:
        message = ngettext(
            "Too many failed sign-ins from here. Try again in %(num)d minute.",
            "Too many failed sign-ins from here. Try again in %(num)d minutes.",
            minutes,
        )
    else:
        message = ngettext(
            "Too many wrong tokens from here. Try again in %(num)d minute.",
            "Too many wrong tokens from here. Try again in %(num)d minutes.",
            minutes,
        )
    if page:
        nxt = safe_next(request.query.get("next"))
        resp = html("login.html", status=429, next=nxt, error=message, demo=False, providers=[])
        resp.headers.update(headers)
        return resp
    return web.Response(status=429, text=message, headers=headers)


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        given = str((await request.post()).get(CSRF_FIELD) or "")
    return SessionStore.csrf_ok(session, given)


def protected(handler: Handler) -> Handler:
    """Serve the page only to someone signed in (always, in demo mode), in their language
    (page_language.py; a refusal before sign-in in the visitor's)."""

    async def checked(request: web.Request) -> web.StreamResponse:
        settings = settings_of(request)
        try:
            who = await visitor(request)
        except Locked as e:
            return too_many(request, e.seconds, page=False)
        if who is None:
            if not sign_in_offered(settings):
                return html("disabled.html", status=403, demo=False)
            if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
            return web.Response(
                status=401,
                text=_("Sign in first (or send Authorization: Bearer TOKEN)."),
                headers={"WWW-Authenticate": 'Bearer realm="looplink"'},
            )
        return await as_reader(request, who.person_id, lambda r: admitted(r, who))

    async def admitted(request: web.Request, who: Visitor) -> web.StreamResponse:
        if request.method == "POST":
            if not same_origin(request):
                return web.Response(status=403, text=refused_cross_site())
            if who.session is not None and not await _csrf_ok(request, who.session):
                return web.Response(status=403, text=form_expired())
        CSRF.set(who.session.csrf if who.session is not None else "")
        WHO.set(who)
        return await handler(request)

    return in_page_language(checked)


def refused_cross_site() -> str:
    return _("Cross-site request refused.")


def form_expired() -> str:
    return _("This form has expired; reload the page.")


# The roles' names, as the pages say them (the org file's words are the English ones).
ROLE_NAMES = {
    "lead": N_("lead"),
    "liaison": N_("liaison"),
    "coach": N_("coach"),
    "data": N_("data"),
    "facilitator": N_("facilitator"),
    "notes": N_("notes"),
    "member": N_("member"),
}


def role_name(role: str) -> str:
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def safe_next(target: str | None) -> str:
    """Only redirect within this site (never to another host)."""
    t = target or "/dashboard"
    parts = urlsplit(t)
    if parts.scheme or parts.netloc or not t.startswith("/") or t.startswith("//"):
        return "/dashboard"
    if "\\" in t or any(ord(c) < 32 for c in t):
        return "/dashboard"
    return t


# ---- the sign-in form and sign-out ---------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    nxt = safe_next(request.query.get("next"))
    if not sign_in_offered(settings):
        return html("disabled.html", status=403, demo=False)
    session = await gate_of(request).sessions.lookup(request.cookies.get(COOKIE))
    if session is not None and (session.method == DEMO) == settings.demo:
        raise web.HTTPSeeOther(nxt)
    return await login_html(request, nxt)


async def login_html(
    request: web.Request, nxt: str, status: int = 200, error: str = ""
) -> web.Response:
    """The sign-in page: a button per provider, the token form when a token is set, and in
    the demo the people to be."""
    settings = settings_of(request)
    people: list[tuple[str, str]] = []
    if settings.demo:
        rt = request.app[WEB].rt
        async with rt.db.transaction() as s:
            people = await demo_people(s)
    providers = [(p.name, p.label) for p in settings.sign_in if isinstance(p, Provider)]
    return html(
        "login.html",
        status=status,
        next=nxt,
        error=error,
        demo=settings.demo,
        token=bool(settings.admin_token) and not settings.demo,
        providers=providers,
        people=people,
    )


async def demo_people(s: AsyncSession) -> list[tuple[str, str]]:
    """Everyone active, with their roles, for the demo's "sign in as"."""
    people = (await s.scalars(select(Person).where(Person.active.is_(True)))).all()
    roles: dict[str, list[str]] = {}
    for m in (await s.scalars(select(Membership))).all():
        roles.setdefault(m.person_id, []).append(m.role)
    return [
        (
            p.id,
            f"{p.name} ({', '.join(role_name(r) for r in sorted(set(roles.get(p.id, ['member']))))})",
        )
        for p in sorted(people, key=lambda p: p.name)
    ]


async def demo_sign_in(request: web.Request) -> web.StreamResponse:
    """The demo's sign-in: be anyone (or nobody in particular: everything)."""
    settings = settings_of(request)
    if not settings.demo:
        raise web.HTTPNotFound()
    if not same_origin(request):
        return web.Response(status=403, text=refused_cross_site())
    data = await request.post()
    nxt = safe_next(str(data.get("next") or ""))
    person = str(data.get("person") or "")
    rt = request.app[WEB].rt
    known: Person | None = None
    if person:
        async with rt.db.transaction() as s:
            known = await s.get(Person, person)
    if known is None:
        return await login_html(request, nxt, status=400, error=_("Pick someone from the list."))
    return await start_session(request, f"{PERSON}{person}", DEMO, nxt)


async def start_session(
    request: web.Request, principal: str, method: str, nxt: str
) -> web.StreamResponse:
    """Sign-in done: a new session (whatever the browser had ends), and on to `nxt`."""
    gate = gate_of(request)
    session_id, _session = await gate.sessions.rotate(
        request.cookies.get(COOKIE), principal, method
    )
    await gate.sessions.purge()  # sessions that ended a week ago: one DELETE per sign-in
    resp = web.HTTPSeeOther(nxt)
    resp.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
        path="/",
        max_age=int(MAX_AGE.total_seconds()),
    )
    raise resp


async def login_submit(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    if not same_origin(request):
        return web.Response(status=403, text=refused_cross_site())
    token = settings.admin_token
    if not token:
        return html("disabled.html", status=403, demo=False)
    gate = gate_of(request)
    client = client_of(request)
    left = gate.throttle.locked(client)
    if left is not None:
        return too_many(request, Locked(left).seconds, page=True)
    data = await request.post()
    nxt = safe_next(str(data.get("next") or ""))
    given = str(data.get("token") or "").strip()
    if not _token_ok(given, token):
        gate.throttle.failed(client)
        return await login_html(request, nxt, status=401, error=_("That token is not right."))
    gate.throttle.succeeded(client)
    return await start_session(request, ADMIN, ADMIN_TOKEN, nxt)


async def logout(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return web.Response(status=403, text=refused_cross_site())
    gate = gate_of(request)
    cookie = request.cookies.get(COOKIE)
    session = await gate.sessions.lookup(cookie)
    if session is not None and not await _csrf_ok(request, session):
        return web.Response(status=403, text=form_expired())
    await gate.sessions.revoke(cookie)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


LOGIN_KEY = web.AppKey("looplink_login_mounted", bool)


def mount_login(app: web.Application) -> None:
    """The sign-in routes and the session store (once per app, whoever mounts first; after
    `mount_context`)."""
    mount_security_headers(app)
    if app.get(LOGIN_KEY):
        return
    app[LOGIN_KEY] = True
    rt = app[WEB].rt
    app[GATE] = Gate(SessionStore(rt.db, rt.clock), Throttle(rt.clock))
    app.router.add_get("/login", in_page_language(login_page))
    app.router.add_post("/login", in_page_language(login_submit))
    app.router.add_post("/logout", in_page_language(logout))
    app.router.add_post("/login/demo", in_page_language(demo_sign_in))


# ---- what the signed-in visitor may see ------------------------------------------------------


async def viewer(request: web.Request) -> Viewer:
    """What the visitor of this request may see (bot.visibility): the admin token and the demo
    as nobody in particular see everything; a person what their roles open."""
    who = WHO.get(None)
    if who is None:
        return NOTHING
    pid = who.person_id
    if pid is None:
        return EVERYTHING if who.principal in (ADMIN, DEMO) else NOTHING
    rt = request.app[WEB].rt
    async with rt.db.transaction() as s:
        seen = await viewer_for(s, pid)
    if seen is NOTHING:  # no longer an active person: their sessions end, sign in again
        await gate_of(request).sessions.revoke_all(who.principal)
        resp = web.HTTPSeeOther("/login")
        resp.del_cookie(COOKIE, path="/")
        raise resp
    return seen


def forbidden(request: web.Request, what: str = "page") -> web.Response:
    """403 with a page that says what to do (never the data)."""
    return html("forbidden.html", status=403, what=what, demo=settings_of(request).demo)


def admin_only(handler: Handler) -> Handler:
    """For admins only (the playground acts as anyone): 403 for everyone else. Inside
    `protected`, which has decided who is asking."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not settings_of(request).demo and not (await viewer(request)).admin:
            if request.method == "GET" and request.path == "/":
                raise web.HTTPSeeOther("/me")  # the front door: everyone has their own page
            return forbidden(request, "playground")
        return await handler(request)

    return wrapped
