"""The language a web page is written in (issue 17): one rule for every HTML response.

- Someone signed in as a person reads what a direct message to them would be in: the language
  they chose in chat, else the org file's, else this browser's (Accept-Language), else the one
  their chat platform last reported, else the organisation's (`Directory.person_language`),
  in their home team's timezone.
- Anyone else (the sign-in page, a refusal before sign-in, the admin token, the demo as
  nobody): the first language of the browser's Accept-Language that Looplink has a catalog
  for, else the organisation's, in the organisation's timezone.

`protected` and `admin_only` (signin.py, console.py) apply it to every page behind them; the
public sign-in routes are wrapped with `in_page_language` where they are added. Platform
routes (Slack, Teams) never pass through here: each message there is built for its reader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.local.web import WEB
from bot import i18n
from bot.directory import Directory

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_HEADER = 512  # longer Accept-Language headers are cut, not parsed whole
MAX_TAGS = 16


def browser_languages(header: str | None) -> list[str]:
    """The languages Looplink speaks among an Accept-Language header's, most wanted first
    ('es-MX,es;q=0.9,en;q=0.8' -> ['es', 'en']); q=0 means "not this one"."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "")[:MAX_HEADER].split(",")[:MAX_TAGS]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = i18n.normalize(tag.strip()) if tag.strip() not in ("", "*") else None
        if lang is not None and 0 < q <= 1:
            ranked.append((-q, index, lang))
    seen: list[str] = []
    for _q, _i, lang in sorted(ranked):
        if lang not in seen:
            seen.append(lang)
    return seen


async def page_reader(request: web.Request, person_id: str | None = None) -> i18n.Reader:
    """Who reads this page, and how (the rule in the module's docstring)."""
    wanted = browser_languages(request.headers.get("Accept-Language"))
    browser = wanted[0] if wanted else None
    async with request.app[WEB].rt.db.transaction() as s:
        directory = Directory(s)
        if person_id is not None:
            person = await directory.person(person_id)
            if person is not None:
                return await directory.person_reader(person, locale=browser)
        language = browser or await directory.org_language()
        return i18n.Reader(language, await directory.org_timezone())


async def as_reader(
    request: web.Request, person_id: str | None, handler: Handler
) -> web.StreamResponse:
    """Run the page's handler in the language of the person signed in (someone else, such as
    the admin token, stays in the visitor's language that `in_page_language` set)."""
    if person_id is None:
        return await handler(request)
    with i18n.speaking(await page_reader(request, person_id)):
        return await handler(request)


def in_page_language(handler: Handler) -> Handler:
    """For pages anyone may open (sign-in, its refusals): the visitor's language."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        with i18n.speaking(await page_reader(request)):
            return await handler(request)

    return wrapped
