"""What the playground and the dashboard share: HTML templates, static files and sign-in.

Sign-in: `looplink demo` (settings.demo) needs none. Otherwise every page needs the admin
token (LOOPLINK_ADMIN_TOKEN), either as `Authorization: Bearer TOKEN` or through the sign-in
form, which sets an HttpOnly cookie holding an HMAC of the token (never the token itself).
Without a configured token the pages are turned off.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from bot.settings import Settings
from bot.views import template_context

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "web_templates"
COOKIE = "looplink_session"

_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<![\w])_([^_\n]+)_(?![\w])")


def marks(text: object) -> Markup:
    """Neutral message text as HTML: escaped first, then *bold* and _italic_ only."""
    safe = str(escape(str(text or "")))
    safe = _BOLD.sub(r"<strong>\1</strong>", safe)
    safe = _ITALIC.sub(r"<em>\1</em>", safe)
    return Markup(safe)


def when(value: datetime | None, tz: str = "UTC") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


_env: ImmutableSandboxedEnvironment | None = None


def env() -> ImmutableSandboxedEnvironment:
    """Our page templates, in Jinja2's sandbox like every template, seeing view models only."""
    global _env
    if _env is None:
        e = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=select_autoescape(["html"], default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        e.filters["marks"] = marks
        e.filters["when"] = when
        e.filters["iso"] = iso
        e.filters["q"] = lambda v: quote(str(v), safe="")
        _env = e
    return _env


def render(name: str, **context: Any) -> str:
    return env().get_template(name).render(**template_context(context))


# Only our own files run or style the page (the favicon is a data: image).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def html(name: str, status: int = 200, **context: Any) -> web.Response:
    resp = web.Response(text=render(name, **context), status=status, content_type="text/html")
    resp.headers.update(SECURITY_HEADERS)
    return resp


STATIC_KEY = web.AppKey("looplink_static_mounted", bool)


def mount_static(app: web.Application) -> None:
    """Our own CSS and JavaScript (no CDN: the machines may have no internet)."""
    if app.get(STATIC_KEY):
        return
    app[STATIC_KEY] = True
    app.router.add_static("/static/", STATIC_DIR, show_index=False, append_version=False)


# ---- sign-in -----------------------------------------------------------------------------


def settings_of(request: web.Request) -> Settings:
    from bot.server import SERVER

    return request.app[SERVER].settings


def _session_value(token: str) -> str:
    return hmac.new(token.encode(), b"looplink-dashboard-session-v1", hashlib.sha256).hexdigest()


def signed_in(request: web.Request) -> bool:
    settings = settings_of(request)
    if settings.demo:
        return True
    token = settings.admin_token
    if not token:
        return False
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer ") and hmac.compare_digest(
        auth[7:].strip().encode(), token.encode()
    ):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), _session_value(token).encode())


def safe_next(target: str | None) -> str:
    """Only redirect within this site (never to another host)."""
    t = target or "/dashboard"
    parts = urlsplit(t)
    if parts.scheme or parts.netloc or not t.startswith("/") or t.startswith("//"):
        return "/dashboard"
    return t


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def protected(handler: Handler) -> Handler:
    """Serve the page only to someone signed in (always, in demo mode)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not signed_in(request):
            settings = settings_of(request)
            if not settings.admin_token:
                return html("disabled.html", status=403, demo=False)
            if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
            return web.Response(
                status=401,
                text="Sign in with the admin token (Authorization: Bearer TOKEN).",
                headers={"WWW-Authenticate": 'Bearer realm="looplink"'},
            )
        if request.method == "POST" and not same_origin(request):
            return web.Response(status=403, text="Cross-site request refused.")
        return await handler(request)

    return wrapped


def same_origin(request: web.Request) -> bool:
    """A POST from another site's page is refused (the cookie is SameSite too)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def login_page(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    nxt = safe_next(request.query.get("next"))
    if settings.demo or signed_in(request):
        raise web.HTTPSeeOther(nxt)
    if not settings.admin_token:
        return html("disabled.html", status=403, demo=False)
    return html("login.html", next=nxt, error="", demo=False)


async def login_submit(request: web.Request) -> web.StreamResponse:
    settings = settings_of(request)
    if not same_origin(request):
        return web.Response(status=403, text="Cross-site request refused.")
    data = await request.post()
    nxt = safe_next(str(data.get("next") or ""))
    token = settings.admin_token
    if not token:
        return html("disabled.html", status=403, demo=False)
    given = str(data.get("token") or "").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return html(
            "login.html", status=401, next=nxt, error="That token is not right.", demo=False
        )
    resp = web.HTTPSeeOther(nxt)
    resp.set_cookie(
        COOKIE,
        _session_value(token),
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
        max_age=12 * 3600,
    )
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return web.Response(status=403, text="Cross-site request refused.")
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


LOGIN_KEY = web.AppKey("looplink_login_mounted", bool)


def mount_login(app: web.Application) -> None:
    if app.get(LOGIN_KEY):
        return
    app[LOGIN_KEY] = True
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
