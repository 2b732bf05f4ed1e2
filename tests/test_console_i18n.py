"""The admin console and the sign-in pages in the reader's language (issue 17), over real HTTP
against the real server.

No language is forced on the server: each request is in its reader's language as
adapters/local/page_language.py picks it (the signed-in person's, else the browser's, else the
organisation's).

Lucía (examples/org.yaml: `language: es`), made an admin in a copy of the demo organisation,
reads the console in Spanish: its pages, the schedules it words, the changes table, and a form
with errors, whose problems (the console's own and the org file validator's) are in Spanish
while what she typed stays in the fields. Someone not signed in whose browser asks for Spanish
(Accept-Language) reads the sign-in page and a refused sign-in in Spanish. In the pseudo-
language of tests/test_i18n_pseudo.py, no English escapes on any of these pages.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.local.providers import slack_provider
from bot.clock import FixedClock
from bot.db.models import Team
from bot.sessions import SessionStore
from tests.client import Client
from tests.conftest import EXAMPLE_ORG
from tests.fakes.oidc import FakeOidc
from tests.test_i18n_pseudo import escaped, names, pseudo  # noqa: F401 - `pseudo` is a fixture
from tests.test_signin_oidc import ALICE_SLACK, sign_in
from tests.web_support import server_of, serving, settings_for, text_of

TOKEN = "Vb8Qx2Lm5Tz9Rk1Wc4Nh7Jd0Pf3Gs6Ya8Eu2Io5Kq"
COOKIE = "looplink_session"
SPANISH = {"Accept-Language": "es-US,es;q=0.9,en;q=0.5"}

# Lucía's new team, with two mistakes: what she typed must come back as she typed it
TYPED = {
    "id": "jefferson",
    "name": "Equipo de Implementación de Jefferson",
    "level": "building",
    "parent": "riverside",
    "response_days": "una semana",
    "timezone": "America/Chicago",
    "meeting": "martes",
    "agenda_before": "1440",
    "digest": "",
    "recognition": "",
    "add_person": "kofi.mensah@riverside.example",
    "add_role": "lead",
}


def org_with(tmp_path: Path, language: str = "es", org_language: str = "en") -> Path:
    """The demo organisation with Lucía as an admin reading `language`."""
    text = EXAMPLE_ORG.read_text()
    text = text.replace("admins: [kaya]", "admins: [kaya, lucia]")
    text = re.sub(r"(\{id: lucia, [^}]*language: )es\}", rf"\g<1>{language}}}", text)
    text = text.replace("language: en  #", f"language: {org_language}  #")
    assert "admins: [kaya, lucia]" in text and f"language: {language}}}" in text, "org changed"
    path = tmp_path / "org.yaml"
    path.write_text(text)
    return path


@pytest.fixture
async def lucia(db_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Client]:
    """The server, with Lucía signed in (a Slack sign-in's session)."""
    settings = settings_for(db_url, demo=False, admin_token=TOKEN, org_file=org_with(tmp_path))
    async with serving(settings, clock) as client:
        store = SessionStore(server_of(client).rt.db, server_of(client).rt.clock)
        session, _ = await store.create("person:lucia", "oidc:slack")
        client.session.cookie_jar.update_cookies({COOKIE: session})
        # her browser is in English: her own language (the org file's) comes first
        client.session.headers.update({"Accept-Language": "en-US,en;q=0.9"})
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def field(html: str, name: str) -> str:
    """The HTML of one form field: its label, hint, errors and input."""
    start = html.index(f'for="f-{name}"')
    return html[start : html.index("</div>", html.index(f'id="f-{name}"'))]


async def get(client: Client, path: str, status: int = 200) -> str:
    resp = await client.get(path)
    html = await resp.text()
    assert resp.status == status, (path, html[:500])
    return html


async def test_lucia_reads_the_console_in_spanish(lucia: Client) -> None:
    overview = text_of(await get(lucia, "/console"))
    assert "Consola de administración" in overview and "Admin console" not in overview
    assert "Equipos vinculados" in overview and "Linked teams" not in overview
    assert "Qué prevalece: el archivo de la organización" in overview
    assert "Guardar el calendario" in overview and "detienen el reloj" in overview
    assert "días hábiles" in overview and "working day" not in overview
    # the file's apply at start, in the changes table, in words Spanish can order
    assert "el archivo de la organización (inicio del servidor)" in overview
    assert "se aplicó el archivo de la organización" in overview
    assert "se agregó el ajuste timezone" in overview and "added" not in overview
    assert re.search(r"\d+ cambios: se agregó", overview)

    team = text_of(await get(lucia, "/console/teams/lincoln"))
    assert "Miembros y funciones" in team and "Members and roles" not in team
    assert "Desactivar este equipo" in team and "Guardar los cambios" in team
    assert "líder" in team and "quitar del equipo" in team  # the roles, in the select
    # Lincoln meets on Tuesdays (examples/org.yaml): the schedule in Spanish words
    assert re.search(r"Se reúne: cada martes a las \d\d:\d\d", team), team

    people = text_of(await get(lucia, "/console/people?q=carol"))
    assert "Buscar a una persona" in people and "Agregar a la persona" in people
    assert "Carol" in people and "Desactivar" in people and "Find someone" not in people
    nobody = text_of(await get(lucia, "/console/people?q=zzqx"))
    assert "Nadie coincide con “zzqx”" in nobody


async def test_a_console_error_in_spanish_keeps_what_lucia_typed(lucia: Client) -> None:
    csrf = csrf_of(await get(lucia, "/console/teams/new"))
    typed = {**TYPED, "digest": "0 25 * * mon", "csrf": csrf}
    resp = await lucia.post("/console/teams/new", data=typed)
    html = await resp.text()
    assert resp.status == 422, html[:500]
    assert 'value="0 25 * * mon"' in html
    assert "el campo de hora “25” no es válido" in text_of(html)  # APScheduler's, in Spanish
    for value in ("una semana", "martes", "kofi.mensah@riverside.example"):
        assert f'value="{value}"' in html, value
    assert 'value="Equipo de Implementación de Jefferson"' in html
    text = text_of(html)
    assert "No se guardó nada." in text and "Nothing was saved" not in text
    days = text_of(field(html, "response_days"))
    assert "debe ser un número entero de días hábiles de 1 a 90, no 'una semana'" in days
    assert "Para corregirlo: escriba, por ejemplo, 'response_days: 5'." in days
    meeting = text_of(field(html, "meeting"))
    assert "horario cron incorrecto 'martes' (se esperaban 5 campos, hay 1)" in meeting.lower()
    async with server_of(lucia).rt.db.transaction() as s:
        assert await s.get(Team, "jefferson") is None

    # the console's own problem (nobody to add), and a person form's, keep what was typed too
    csrf = csrf_of(await get(lucia, "/console/teams/lincoln"))
    form = {**TYPED, "id": "lincoln", "response_days": "5", "meeting": "", "csrf": csrf}
    form["name"] = "Lincoln Elementary Implementation Team"
    form["add_person"] = "nadie.conocido@riverside.example"
    resp = await lucia.post("/console/teams/lincoln", data=form)
    html = await resp.text()
    assert resp.status == 422
    assert 'value="nadie.conocido@riverside.example"' in html
    assert "Nadie coincide con “nadie.conocido@riverside.example”" in text_of(html)
    csrf = csrf_of(await get(lucia, "/console/people"))
    person = {"id": "carol", "name": "Carolina Otra", "email": "", "language": "klingon"}
    resp = await lucia.post("/console/people", data={**person, "csrf": csrf})
    html = await resp.text()
    assert resp.status == 422
    assert 'value="Carolina Otra"' in html and 'value="klingon"' in html
    assert "Ya hay una persona con el id “carol”" in text_of(html)
    person = {"id": "nuevo", "name": "Persona Nueva", "email": "", "language": "klingon"}
    resp = await lucia.post("/console/people", data={**person, "csrf": csrf})
    html = await resp.text()
    assert resp.status == 422 and 'value="klingon"' in html
    language = html[html.index('for="p-language"') : html.index('id="p-language"')]
    assert "Idioma desconocido 'klingon'" in text_of(language)  # next to its field


async def test_signed_out_pages_follow_the_browsers_language(
    db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    async with FakeOidc() as slack:
        provider = slack_provider(slack.client_id, slack.client_secret, slack.discovery_url)
        settings = settings_for(
            db_url, demo=False, admin_token=TOKEN, sign_in=(provider,), org_file=org_with(tmp_path)
        )
        async with serving(settings, clock) as client:
            client.session.headers.update(SPANISH)
            login = text_of(await get(client, "/login"))
            assert "Iniciar sesión con Slack" in login and "Sign in with" not in login
            assert "Token de administración" in login
            resp = await client.post("/login", data={"token": "not-the-token", "next": "/"})
            wrong = text_of(await resp.text())
            assert resp.status == 401 and "Ese token no es correcto." in wrong

            # a sign-in from a Slack workspace the organisation did not declare
            slack.account = {**ALICE_SLACK, "https://slack.com/team_id": "T0ELSEWHERE"}
            resp = await sign_in(client, "slack")
            html = await resp.text()
            assert resp.status == 403 and 'data-reason="workspace"' in html
            refused = text_of(html)
            assert "No ha iniciado sesión" in refused
            assert "Inició sesión con un espacio de trabajo de Slack que no es de esta" in refused
            assert "Volver a iniciar sesión" in refused and "You are not" not in refused
            # the same page, a browser in English
            client.session.headers.update({"Accept-Language": "en-US,en;q=0.9"})
            resp = await sign_in(client, "slack")
            assert "You signed in with a Slack workspace" in text_of(await resp.text())


async def test_no_english_escapes_on_the_console_and_sign_in_pages(
    db_url: str,
    clock: FixedClock,
    tmp_path: Path,
    pseudo: str,  # noqa: F811 - the fixture
) -> None:
    org = org_with(tmp_path, language=pseudo, org_language=pseudo)
    seen: list[tuple[str, str]] = []
    async with FakeOidc() as slack:
        provider = slack_provider(slack.client_id, slack.client_secret, slack.discovery_url)
        settings = settings_for(
            db_url, demo=False, admin_token=TOKEN, sign_in=(provider,), org_file=org
        )
        async with serving(settings, clock) as client:
            client.session.headers.update({"Accept-Language": pseudo})
            seen.append(("/login", await get(client, "/login")))
            slack.account = {**ALICE_SLACK, "https://slack.com/team_id": "T0ELSEWHERE"}
            resp = await sign_in(client, "slack")
            seen.append(("refused", await resp.text()))
            resp = await client.post("/login", data={"token": "wrong", "next": "/"})
            seen.append(("wrong token", await resp.text()))

            store = SessionStore(server_of(client).rt.db, server_of(client).rt.clock)
            session, _ = await store.create("person:lucia", "oidc:slack")
            client.session.cookie_jar.update_cookies({COOKIE: session})
            csrf = csrf_of(await get(client, "/console/teams/new"))
            typed = {**TYPED, "digest": "0 25 * * mon", "csrf": csrf}
            resp = await client.post("/console/teams/new", data=typed)
            seen.append(("team form errors", await resp.text()))
            form = {**TYPED, "id": "lincoln", "response_days": "5", "csrf": csrf}
            form["role:alice"] = "lead"  # Lincoln's lead stays (the others leave the team)
            form["meeting"], form["add_person"] = (
                "0 10 1-7 * mon,wed",
                "kofi.mensah@riverside.example",
            )
            form["name"], form["add_role"] = "Lincoln Elementary Implementation Team", "liaison"
            resp = await client.post("/console/teams/lincoln", data=form, allow_redirects=False)
            assert resp.status == 303, text_of(await resp.text())[:800]
            seen.append(("saved team", await get(client, "/console/teams/lincoln?saved=1")))
            for path in (
                "/console",
                "/console?saved=deactivated",
                "/console?saved=calendar",
                "/console/people?q=carol&saved=1",
                "/console/people?q=carol&saved=deactivated",
                "/console/people?q=zzqx",
            ):
                seen.append((path, await get(client, path)))
            # a district with schools under it cannot go: the validator's problems, by team
            resp = await client.post("/console/teams/riverside/deactivate", data={"csrf": csrf})
            assert resp.status == 422
            seen.append(("deactivate refused", await resp.text()))
            resp = await client.post(
                "/console/calendar", data={"weekends": "pause", "holidays": "zzq", "csrf": csrf}
            )
            seen.append(("calendar error", await resp.text()))
            carol, _ = await store.create("person:carol", "oidc:slack")
            client.session.cookie_jar.update_cookies({COOKIE: carol})
            seen.append(("forbidden", await get(client, "/console", status=403)))
            # the plain refusals: a form without its token, from another site, signed out
            resp = await client.post("/console/calendar", data={"weekends": "pause"})
            assert resp.status == 403
            seen.append(("no csrf", await resp.text()))
            evil = {"Origin": "https://evil.example"}
            resp = await client.post("/console/calendar", data={}, headers=evil)
            assert resp.status == 403
            seen.append(("cross-site", await resp.text()))
            client.session.cookie_jar.clear()
            resp = await client.post("/console/calendar", data={})
            assert resp.status == 401
            seen.append(("signed out", await resp.text()))
            # wrong tokens until the client is locked out (one was tried above)
            for _try in range(5):
                resp = await client.post("/login", data={"token": "wrong", "next": "/"})
            assert resp.status == 429
            seen.append(("too many", await resp.text()))
        # the demo's sign-in: be anyone, each with their roles
        demo = settings_for(db_url, demo=True, org_file=org)
        async with serving(demo, clock) as client:
            client.session.headers.update({"Accept-Language": pseudo})
            seen.append(("demo sign-in", await get(client, "/login")))

    known = [*names(), *ids(), "Riverside Regional Literacy Initiative"]
    leaks = {}
    for where, html in seen:
        # what people read: the text, less code (commands, org-file keys) and inline scripts
        html = re.sub(r"(?s)<(code|script|style)\b.*?</\1>", " ", html)
        text = text_of(html)
        assert "⟦" in text, where
        if bad := escaped(text, known):
            leaks[where] = (bad, text[:300])
    assert not leaks, "English that escaped translation:\n" + "\n".join(
        f"{where}: {bad} in {text!r}" for where, (bad, text) in leaks.items()
    )


def ids() -> list[str]:
    """Ids and emails in the demo organisation, as the console shows them (not translated)."""
    text = EXAMPLE_ORG.read_text()
    found = re.findall(r"\bid: ([\w.-]+)", text) + re.findall(r"email: ([\w.@-]+)", text)
    found += ["jefferson", "org apply", "org file"]
    return sorted(set(found), key=len, reverse=True)
