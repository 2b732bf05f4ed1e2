"""Which language a web page is written in (issue 17, adapters/local/page_language.py), over
real HTTP against the real server, with no language forced on the server: the signed-in
person's, else the browser's Accept-Language among the catalogs, else the organisation's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from adapters.local.page_language import browser_languages
from bot.clock import FixedClock
from bot.sessions import SessionStore
from tests.client import Client
from tests.test_console_i18n import TOKEN, org_with
from tests.web_support import server_of, serving, settings_for, text_of

COOKIE = "looplink_session"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("es", ["es"]),
        ("es-MX", ["es"]),
        ("es_US", ["es"]),
        ("fr-CA,fr;q=0.9,es;q=0.8,en;q=0.5", ["es", "en"]),
        ("en;q=0.4, es;q=0.9", ["es", "en"]),
        ("es;q=0, en", ["en"]),
        ("*", []),
        ("es;q=banana, en;q=0.5", ["en"]),
        ("es;q=7", []),
        ("zz, es-419", ["es"]),
        (",,;;;q=,", []),
        ("x" * 100_000 + ",es", []),  # cut at 512 characters, never parsed whole
    ],
)
def test_browser_languages(header: str | None, expected: list[str]) -> None:
    assert browser_languages(header) == expected


def lang_of(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found is not None, html[:200]
    return found.group(1)


async def get(client: Client, path: str, headers: dict[str, str] | None = None) -> str:
    resp = await client.get(path, headers=headers or {})
    html = await resp.text()
    assert resp.status == 200, (path, resp.status, html[:300])
    return html


@asynccontextmanager
async def server(db_url: str, clock: FixedClock, org: Path) -> AsyncIterator[Client]:
    settings = settings_for(db_url, demo=False, admin_token=TOKEN, org_file=org)
    async with serving(settings, clock) as client:
        yield client


async def signed_in(client: Client, person: str) -> None:
    store = SessionStore(server_of(client).rt.db, server_of(client).rt.clock)
    session, _ = await store.create(f"person:{person}", "oidc:slack")
    client.session.cookie_jar.update_cookies({COOKIE: session})


async def test_a_visitor_reads_the_sign_in_page_in_the_browsers_language(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    async with server(db_url, clock, org_with(tmp_path)) as client:
        english = await get(client, "/login")
        assert lang_of(english) == "en" and "Sign in" in text_of(english)
        spanish = await get(client, "/login", {"Accept-Language": "fr-CA,es;q=0.8,en;q=0.5"})
        assert lang_of(spanish) == "es" and "Iniciar sesión" in text_of(spanish)
        assert "Sign in" not in text_of(spanish)
        refused = await get(client, "/login", {"Accept-Language": "es;q=0, en;q=0.1"})
        assert lang_of(refused) == "en"


async def test_a_visitor_without_a_preference_reads_the_organisations_language(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    async with server(db_url, clock, org_with(tmp_path, org_language="es")) as client:
        page = await get(client, "/login")
        assert lang_of(page) == "es" and "Iniciar sesión" in text_of(page)
        english = await get(client, "/login", {"Accept-Language": "en-US"})
        assert lang_of(english) == "en"


async def test_signed_in_people_read_their_own_language_whatever_the_browser_says(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    async with server(db_url, clock, org_with(tmp_path)) as client:
        await signed_in(client, "lucia")  # language: es in the org file
        console = await get(client, "/console", {"Accept-Language": "en-US"})
        assert lang_of(console) == "es" and "Consola de administración" in text_of(console)
        # a refusal inside the console is hers too: a form posted without its token
        resp = await client.post("/console/calendar", data={"holidays": ""})
        assert resp.status == 403 and "formulario" in (await resp.text()).lower()
    async with server(db_url, clock, org_with(tmp_path, language="en")) as client:
        await signed_in(client, "lucia")  # now reading English in the org file
        console = await get(client, "/console", {"Accept-Language": "es"})
        assert lang_of(console) == "en" and "Admin console" in text_of(console)


async def test_a_person_with_no_language_of_their_own_gets_the_browsers(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    org = tmp_path / "plain.yaml"
    org.write_text(
        org_with(tmp_path)
        .read_text()
        .replace("language: es}", "}")
        .replace("admins: [kaya,", "admins: [")
    )
    async with server(db_url, clock, org) as client:
        await signed_in(client, "lucia")
        assert lang_of(await get(client, "/console", {"Accept-Language": "es-MX"})) == "es"
        assert lang_of(await get(client, "/console")) == "en"  # the organisation's
