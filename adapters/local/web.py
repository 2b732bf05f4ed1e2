"""What the playground and the dashboard share: HTML templates, static files and the
security headers every response carries. Sign-in is in signin.py.

Every response of the server gets `X-Content-Type-Options: nosniff`, and every HTML response
(pages, fragments such as /play/messages, error pages) the Content-Security-Policy, from one
`on_response_prepare` hook: no handler can forget them.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from bot import i18n
from bot.runtime import Runtime
from bot.settings import Settings
from bot.views import template_context

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "web_templates"
# The signed-in session's CSRF token, for the forms of the page being rendered (signin.py
# sets it per request; each request runs in its own task, so its own context).
CSRF: ContextVar[str] = ContextVar("looplink_csrf", default="")

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<![\w])_([^_\n]+)_(?![\w])")


def marks(text: object) -> Markup:
    """Neutral message text as HTML: escaped first, then `code`, *bold* and _italic_ only."""
    safe = str(escape(str(text or "")))
    safe = _CODE.sub(r"<code>\1</code>", safe)
    safe = _BOLD.sub(r"<strong>\1</strong>", safe)
    safe = _ITALIC.sub(r"<em>\1</em>", safe)
    return Markup(safe)


def when(value: datetime | None, tz: str = "UTC") -> str:
    """A date and time in the reader's language (bot/i18n.py), in `tz`."""
    return "" if value is None else i18n.when(value, tz)


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


_env: ImmutableSandboxedEnvironment | None = None

# A team's level as the pages say it (the org file's words are the English ones).
LEVEL_NAMES = {
    "building": i18n.N_("building"),
    "district": i18n.N_("district"),
    "region": i18n.N_("region"),
    "state": i18n.N_("state"),
}


def level_name(level: object) -> str:
    """'district' -> 'distrito' for a Spanish reader; an unknown level as the org file says it."""
    key = str(level or "")
    return i18n.gettext(LEVEL_NAMES[key]) if key in LEVEL_NAMES else key


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(i18n.reader().language).ngettext(singular, plural, n)


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
        # Jinja2's i18n, new-style (escapes what it fills in): {{ _("...") }}, ngettext(...)
        e.add_extension("jinja2.ext.i18n")
        e.policies["ext.i18n.trimmed"] = True
        e.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
            gettext=i18n.gettext, ngettext=_ngettext, newstyle=True
        )
        e.globals["lang"] = lambda: i18n.reader().language  # <html lang="...">
        e.filters["q"] = lambda v: quote(str(v), safe="")
        e.filters["capitalize_first"] = lambda v: str(v)[:1].upper() + str(v)[1:]
        e.globals["level_name"] = level_name
        e.globals["csrf"] = CSRF.get  # {{ csrf() }} in every form that posts
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


def html(
    name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> web.Response:
    return web.Response(
        text=render(name, **context), status=status, content_type="text/html", headers=headers
    )


async def security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """nosniff on every response; the page policy on every HTML one, whoever made it."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html" or "text/html" in response.headers.get(
        "Content-Type", ""
    ):
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)


STATIC_KEY = web.AppKey("looplink_static_mounted", bool)
HEADERS_KEY = web.AppKey("looplink_security_headers", bool)


def mount_security_headers(app: web.Application) -> None:
    if app.get(HEADERS_KEY):
        return
    app[HEADERS_KEY] = True
    app.on_response_prepare.append(security_headers)


def mount_static(app: web.Application) -> None:
    """Our own CSS and JavaScript (no CDN: the machines may have no internet)."""
    mount_security_headers(app)
    if app.get(STATIC_KEY):
        return
    app[STATIC_KEY] = True
    app.router.add_static("/static/", STATIC_DIR, show_index=False, append_version=False)


@dataclass(frozen=True)
class WebContext:
    """What the local web pages (playground, dashboard) need from the running program."""

    rt: Runtime
    settings: Settings


WEB = web.AppKey("looplink_web", WebContext)


def mount_context(app: web.Application, rt: Runtime, settings: Settings) -> None:
    """Give the local web pages the runtime and settings (the composition root calls this)."""
    if WEB not in app:
        app[WEB] = WebContext(rt, settings)
