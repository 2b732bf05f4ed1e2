"""Each reads Looplink in their own language (issue 17).

Carol, a teacher at Lincoln who reads Spanish, reports a barrier in Slack with the Spanish
command; Alice, Lincoln's English-speaking lead, escalates it from the card in Slack; Dana,
the district lead who reads Spanish, resolves it in Teams from Riverside's channel, which is
in Spanish. Each one reads every message in their own language, and the report stays in the
words Carol wrote. A Spanish-speaking lead's weekly digest is in Spanish with Spanish dates.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from adapters.slack.platform import SlackPlatform
from bot import i18n
from bot.clock import FixedClock
from scheduler.jobs import run_job
from tests.conftest import EXAMPLE_ORG
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import FakeSlack, SlackUser, block_text, buttons
from tests.fakes.teams_client import user
from tests.teams_world import teams_world
from tests.test_cross_platform import _Http

SECRET = "spanish-scenario-signing-secret"
RIVERSIDE = "19:riverside@thread.tacv2"
DANA = user("29:dana", "Dana Whitfield")
SUMMARY = "Los datos del evaluador de lectura llegan tres semanas tarde"  # Carol's own words
ESCALATION = "The screener contract is the district's"
RESOLUTION = "El distrito adelanta la exportación de datos al 1 de diciembre."


def spanish_org(tmp_path: Path) -> Path:
    """The demo organisation, with Carol and Dana reading Spanish and Riverside's channel in
    Teams (and in Spanish); Alice and Lincoln stay English."""
    text = EXAMPLE_ORG.read_text()
    text = re.sub(r"(\{id: carol, [^}]*)\}", r"\1, language: es}", text)
    text = re.sub(r"(\{id: dana, [^}]*)\}", r"\1, language: es}", text)
    text = text.replace(
        "    channels: {slack: C0RIVERSIDE}",
        f'    channels: {{slack: C0RIVERSIDE, teams: "{RIVERSIDE}"}}\n    language: es',
    )
    assert text.count("language: es") >= 3, "the demo org changed shape"
    path = tmp_path / "org.yaml"
    path.write_text(text)
    return path


def no_english(text: str, *allowed: str) -> None:
    """Nothing a Spanish reader reads is in English (names and what people wrote aside)."""
    for word in allowed:
        text = text.replace(word, "")
    english = {"the", "and", "with", "your", "was", "has", "is", "to", "by", "on", "of"}
    english |= {"barrier", "report", "team", "resolved", "escalated", "thanks", "due"}
    found = [w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in english]
    assert not found, (found, text)


async def test_each_reads_in_their_own_language(
    db_url: str, clock: FixedClock, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # Tuesday 09:00 in Chicago
    async with teams_world(
        db_url,
        clock,
        org_file=spanish_org(tmp_path),
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        run_scheduler=False,
    ) as w:
        slack_platform = next(p for p in w.server.platforms if isinstance(p, SlackPlatform))
        slack_platform._sender.min_interval = 0
        async with aiohttp.ClientSession() as http:
            base = w.teams.bot_url.removesuffix("/api/messages")
            slack = SlackUser(_Http(http, base), SECRET, fake_slack)  # type: ignore[arg-type]
            assert (await w.teams.install_team(DANA, RIVERSIDE)).status == 200

            # Carol types the Spanish command; the form is in Spanish
            status, body = await slack.command("U0CAROL", "/barrera", "")
            assert status == 200
            await slack_platform.idle()
            view = fake_slack.views[fake_slack.modals[-1]]
            form = json.dumps(view, ensure_ascii=False)
            assert "Reportar una barrera" in form and "¿Qué está obstaculizando?" in form
            assert "Enviar a mi equipo" in form and "Cancelar" in form
            assert "Capacitación" in form and "Implementación inicial" in form
            status, body = await slack.submit(
                "U0CAROL", view, {"summary": SUMMARY, "driver": "data_systems"}
            )
            assert status == 200
            thanks = block_text(json.loads(body)["view"]["blocks"])
            assert "Gracias — su barrera #1 está con *Lincoln" in thanks, thanks
            await slack_platform.idle()
            await w.deliver()

            # Alice reads the card in Lincoln's (English) channel, in English; Carol's words stay
            card = slack_card(fake_slack, "C0LINCOLN")
            text = block_text(card["blocks"])
            assert "Barrier #1: " + SUMMARY in text and "Written in*\nSpanish" in text, text
            assert "Decision-support data systems" in text
            status, _ = await slack.click("U0ALICE", "C0LINCOLN", card, "decide:escalate")
            await slack_platform.idle()
            view = fake_slack.views[fake_slack.modals[-1]]
            assert "Why it cannot be solved at this level" in json.dumps(view)
            status, body = await slack.submit("U0ALICE", view, {"note": ESCALATION})
            assert status == 200
            await slack_platform.idle()
            await w.deliver()

            # Dana reads Riverside's card in Teams in Spanish, and resolves it there
            [posted] = [p for p in w.connector.to(RIVERSIDE) if "Barrera #1" in p.text()]
            seen = card_text(posted.card)
            assert SUMMARY in seen
            assert "Impulsor" in seen and "Sistemas de datos para la toma de decisiones" in seen
            assert ESCALATION in seen and "Cómo llegó aquí" in seen, seen
            assert "Written in" not in seen and "Escrito en" not in seen  # same language
            pressed = await w.teams.execute(
                DANA,
                action(posted.card, "Resolver aquí"),
                channel=RIVERSIDE,
                reply_to=posted.activity_id,
            )
            assert pressed.status == 200
            assert "Resolución: qué se hizo o se decidió" in card_text(pressed.card)
            done = await w.teams.execute(
                DANA,
                action(pressed.card, "Confirmar"),
                {"in_note": RESOLUTION},
                channel=RIVERSIDE,
                reply_to=posted.activity_id,
            )
            assert done.status == 200
            await w.deliver()
            await slack_platform.idle()
            await w.deliver()

    [item] = await w.items()
    assert (item.state, item.language, item.summary) == ("resolved", "es", SUMMARY)

    # Carol hears back in Spanish, in her Slack DM, with Spanish buttons
    dm = fake_slack.dms["U0CAROL"]
    answer = fake_slack.to("chat.postMessage", channel=dm)[-1].args
    text = block_text(answer["blocks"])
    assert "resolvió la barrera #1" in text and RESOLUTION in text, text
    assert "díganos si ayudó" in text
    assert [b["text"]["text"] for b in buttons(answer["blocks"])] == [
        "Peor",
        "Sin cambios",
        "Mejor",
        "Meta alcanzada",
        "Entendido",
        "Todavía tengo una pregunta",
    ]
    no_english(text, SUMMARY, RESOLUTION, "Riverside District Implementation Team")

    # Alice's Lincoln channel hears it in English; its card now says it in English too
    relay = [
        block_text(c.args["blocks"])
        for c in fake_slack.to("chat.postMessage", channel="C0LINCOLN")
        if RESOLUTION in json.dumps(c.args, ensure_ascii=False)
    ]
    assert relay and "resolved barrier #1" in relay[-1], relay
    lincoln = block_text(slack_card(fake_slack, "C0LINCOLN")["blocks"])
    assert "Resolved by Dana Whitfield on Tue 01 Dec 2026" in lincoln


def slack_card(fake: FakeSlack, channel: str) -> dict[str, Any]:
    posted = [m for (ch, _), m in fake.messages.items() if ch == channel]
    cards = [m for m in posted if "#1:" in block_text(m["blocks"])]
    assert cards, [block_text(m["blocks"])[:80] for m in posted]
    return cards[0]


async def test_a_spanish_speaking_leads_digest_is_in_spanish(
    db_url: str, clock: FixedClock, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Dana leads Riverside and reads Spanish: her digest says so, with Spanish dates; Bob, a
    liaison there who reads English, gets the same digest in English."""
    clock.set(datetime(2026, 11, 30, 14, 0, tzinfo=UTC))  # Monday 08:00 in Chicago
    async with teams_world(
        db_url,
        clock,
        org_file=spanish_org(tmp_path),
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        run_scheduler=False,
    ) as w:
        assert await run_job(w.server.rt, "digest", "riverside") == 3  # dana, bob, ivan
        rows = [r for r in await w.outbox() if r.dest_kind == "person"]
    by_person = {r.dest_id: r.payload for r in rows}
    dana = json.dumps(by_person["dana"], ensure_ascii=False)
    bob = json.dumps(by_person["bob"], ensure_ascii=False)
    assert "Resumen semanal: Riverside District Implementation Team" in dana, dana
    assert "semana hasta el lun 30 de nov de 2026" in dana
    assert "La semana desde el lun 23 de nov de 2026" in dana
    assert "*Cómo va el ciclo* (últimos 90 días)" in dana
    assert "Weekly digest: Riverside District Implementation Team, week to Mon 30 Nov 2026" in bob
    assert "Resumen" not in bob


async def test_the_language_command_chooses_and_is_understood_in_both_languages(
    db_url: str, clock: FixedClock
) -> None:
    async with teams_world(db_url, clock) as w:
        quinn = user("29:quinn", "Quinn Murphy")
        assert (await w.teams.say(quinn, "idioma español")).status == 200
        said = w.connector.to(quinn.personal_conversation)[-1].text()
        assert "A partir de ahora le escribo en español" in said, said
        await w.teams.say(quinn, "ayuda")
        help_text = w.connector.to(quinn.personal_conversation)[-1].text()
        assert "barrera** [lo que está obstaculizando]" in help_text, help_text
        await w.teams.say(quinn, "klingon")  # not a command: a step-by-step report starts
        started = w.connector.to(quinn.personal_conversation)[-2].text()
        assert "Vamos a reportar una barrera" in started
        await w.teams.say(quinn, "cancelar")
        assert "Cancelado" in w.connector.to(quinn.personal_conversation)[-1].text()
        await w.teams.say(quinn, "language fr")
        refused = w.connector.to(quinn.personal_conversation)[-1].text()
        assert "Todavía no escribo en 'fr'" in refused and "es** (español)" in refused
        await w.teams.say(quinn, "language en")
        assert "From now on I write to you in English" in (
            w.connector.to(quinn.personal_conversation)[-1].text()
        )
    assert "es" in i18n.languages()


async def test_lucia_reads_the_playground_in_spanish(db_url: str, clock: FixedClock) -> None:
    """The demo's Spanish reader: her page, her step-by-step report and the card she sends to
    Washington's (English) channel, which says the report is written in Spanish."""
    from tests.web_support import act, page, serving, settings_for, text_of

    async with serving(settings_for(db_url), clock) as client:
        html = await page(client, "lucia")
        assert '<html lang="es">' in html
        seen = text_of(html)
        assert "Mensajes directos" in seen and "Reportar una barrera" in seen
        assert "Direct messages" not in seen
        first = await act(client, "lucia", kind="text", text="barrera")
        assert "¿Qué está obstaculizando?" in text_of(first["messages"])
        for answer in ("No hay intérprete para las juntas con familias", "omitir", "familias"):
            await act(client, "lucia", kind="text", text=answer)
        # driver, stage, locus, evidence, tried, suggestion skipped; urgency; not anonymous
        for answer in ("omitir",) * 6 + ("alta", "no"):
            await act(client, "lucia", kind="text", text=answer)
        sent = await act(client, "lucia", kind="text", text="enviar")
        assert "Gracias — su barrera #1 está con *Washington" in text_of(sent["messages"]) or (
            "Gracias — su barrera #1 está con Washington" in text_of(sent["messages"])
        )
        hana = text_of(await page(client, "hana", "team:washington"))
        assert "No hay intérprete para las juntas con familias" in hana
        assert "Written in Spanish" in hana and "Urgency high" in hana, hana[-3000:]
