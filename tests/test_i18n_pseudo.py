"""No English escapes translation (issue 17).

Every marked message is translated into a pseudo-language, "qps": wrapped in ⟦ ⟧ and accented.
The organisation speaks it; the main loop then runs in Slack and Teams (report, escalate,
resolve, the reporter's answer, feedback) and every scheduled message is produced. Whatever a
person would read (Slack posts, modals and answers, Teams activities and card answers, every
outbox message) must be pseudo text, names, what people typed, numbers and dates: a word of
English left outside ⟦ ⟧ was written in the code or a template without being marked.
"""

from __future__ import annotations

import gettext
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from adapters.slack.platform import SlackPlatform
from bot import i18n
from bot.clock import FixedClock
from scheduler.jobs import run_job
from tests.conftest import EXAMPLE_ORG
from tests.fakes.slack_api import FakeSlack, SlackUser
from tests.fakes.teams_client import user
from tests.teams_world import teams_world
from tests.test_catalogs import _marked
from tests.test_cross_platform import _Http

SECRET = "pseudo-locale-signing-secret"
RIVERSIDE = "19:riverside@thread.tacv2"
DANA = user("29:dana", "Dana Whitfield")
TYPED = ["Zzq screener zzq", "Zzq contract zzq", "Zzq exports zzq"]  # what people type
ACCENTS = str.maketrans("aeiouAEIOUnNcC", "áéíóúÁÉÍÓÚñÑçÇ")
DATE_WORDS = r"Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
PLATFORM_WORDS = {"Looplink", "Slack", "Teams"}


def _pseudo(message: str) -> str:
    """⟦message⟧ accented, its %(placeholders)s kept as they are."""
    parts = re.split(r"(%\(\w+\)[sd]|%%)", message)
    return "⟦" + "".join(p if p.startswith("%") else p.translate(ACCENTS) for p in parts) + "⟧"


@pytest.fixture
def pseudo() -> Iterator[str]:
    catalog = Catalog(locale="en")
    for m in _marked():
        if not m.id:
            continue
        if isinstance(m.id, tuple):
            catalog.add(m.id, tuple(_pseudo(str(x)) for x in m.id), context=m.context)
        elif str(m.id).startswith("EEE"):  # a date pattern: the same, quoted marks around it
            catalog.add(m.id, f"'⟦'{m.id}'⟧'")
        else:
            catalog.add(m.id, _pseudo(str(m.id)), context=m.context)
    import io

    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    i18n.register("qps", gettext.GNUTranslations(buf))
    try:
        yield "qps"
    finally:
        i18n.unregister("qps")


def pseudo_org(tmp_path: Path) -> Path:
    text = EXAMPLE_ORG.read_text()
    text = re.sub(r", language: \w+\}", "}", text)
    # everyone reads the pseudo-language (the fake Teams client says en-US, which would win
    # over the organisation's language for people without one)
    text = re.sub(r"(\{id: \w+, name: [^}]*)\}", r"\1, language: qps}", text)
    text = text.replace("language: en  #", "language: qps  #")  # the organisation's
    text = text.replace(
        "    channels: {slack: C0RIVERSIDE}",
        f'    channels: {{slack: C0RIVERSIDE, teams: "{RIVERSIDE}"}}',
    )
    assert "language: qps" in text, "the demo org changed shape"
    path = tmp_path / "org.yaml"
    path.write_text(text)
    return path


def names() -> list[str]:
    """Names of people and teams in the demo organisation (they are not translated)."""
    found = re.findall(r"name: ([^,}\n]+)", EXAMPLE_ORG.read_text())
    return sorted({n.strip() for n in found}, key=len, reverse=True)


def escaped(text: str, known: list[str]) -> list[str]:
    """English words outside the pseudo-language's marks."""
    while True:
        inner = re.sub(r"⟦[^⟦⟧]*⟧", " ", text)
        if inner == text:
            break
        text = inner
    text = re.sub(r"⟦[^⟧]*$", " ", text)  # a preview cut short inside a message
    for word in [*TYPED, *known]:
        text = text.replace(word, " ")
    text = re.sub(r"(?i)\bzzq\b", " ", text)  # typed text cut short, kudos text
    text = re.sub(rf"\b({DATE_WORDS})\b", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z']+", text)
    return [w for w in words if w not in PLATFORM_WORDS and not re.fullmatch(r"[A-Z]{1,2}", w)]


def readable(value: Any) -> Iterator[str]:
    """Every string a person reads in a Slack or Teams payload (not ids, urls, keys)."""
    skip = {"action_id", "block_id", "callback_id", "private_metadata", "type", "value", "url"}
    skip |= {"id", "verb", "style", "data", "channel", "ts", "user", "users", "msteams"}
    skip |= {"image_url", "initial_option", "dispatch_action", "response_action", "color"}
    skip |= {"weight", "size", "spacing", "contentType", "$schema", "version", "width"}
    skip |= {"horizontalAlignment", "associatedInputs", "isSubtle", "wrap", "fontType"}
    skip |= {"action", "form_id", "name", "kind", "context", "initial"}  # our own ids
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield from readable(v)
    elif isinstance(value, list):
        for v in value:
            yield from readable(v)


def teams_action(card: dict[str, Any], action: str) -> dict[str, Any]:
    for a in card.get("actions") or []:
        if action in json.dumps(a):
            return dict(a)
    raise AssertionError(f"no {action} on the card")


async def test_no_english_escapes_in_slack_teams_and_scheduled_messages(
    db_url: str, clock: FixedClock, fake_slack: FakeSlack, tmp_path: Path, pseudo: str
) -> None:
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # Tuesday 09:00 in Chicago
    seen: list[tuple[str, str]] = []  # (where, text)
    async with teams_world(
        db_url,
        clock,
        org_file=pseudo_org(tmp_path),
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

            async def settle() -> None:
                await slack_platform.idle()
                await w.deliver()
                await slack_platform.idle()

            # Carol: help, a step-by-step report in her DM, then the form
            for said in ("help", "barrier", TYPED[0], "skip", "staff", "3", "skip"):
                status, body = await slack.dm("U0CAROL", said)
                seen += [("slack dm answer", t) for t in readable(json.loads(body or "{}"))]
                await settle()
            status, body = await slack.command("U0CAROL", "/barrier", "")
            await settle()
            view = fake_slack.views[fake_slack.modals[-1]]
            status, body = await slack.submit(
                "U0CAROL", view, {"summary": TYPED[0], "driver": "data_systems"}
            )
            seen += [("slack submit answer", t) for t in readable(json.loads(body or "{}"))]
            await settle()
            # Alice escalates from Lincoln's card; Dana resolves in Teams
            card = next(
                m
                for (ch, _), m in reversed(list(fake_slack.messages.items()))
                if ch == "C0LINCOLN" and "decide:escalate" in json.dumps(m)
            )
            await slack.click("U0ALICE", "C0LINCOLN", card, "decide:escalate")
            await settle()
            view = fake_slack.views[fake_slack.modals[-1]]
            status, body = await slack.submit("U0ALICE", view, {"note": TYPED[1]})
            seen += [("slack submit answer", t) for t in readable(json.loads(body or "{}"))]
            await settle()
            posted = [
                p for p in w.connector.to(RIVERSIDE) if "decide:resolve" in json.dumps(p.body)
            ][-1]
            pressed = await w.teams.execute(
                DANA,
                teams_action(posted.card, "decide:resolve"),
                channel=RIVERSIDE,
                reply_to=posted.activity_id,
            )
            seen += [("teams invoke answer", t) for t in readable(pressed.card)]
            done = await w.teams.execute(
                DANA,
                teams_action(pressed.card, "submit"),
                {"in_note": TYPED[2]},
                channel=RIVERSIDE,
                reply_to=posted.activity_id,
            )
            seen += [("teams invoke answer", t) for t in readable(done.card)]
            await settle()
            for said in ("status", "mine", "agenda", "digest", "clusters", "language", "zzq"):
                await w.teams.say(DANA, said)
            await w.teams.say(DANA, "cancel")
            for said in ("kudos <@U0DEV> for zzq", "agenda add Zzq screener zzq", "status"):
                status, body = await slack.dm("U0ALICE", said)
                seen += [("slack dm answer", t) for t in readable(json.loads(body or "{}"))]
            await settle()

            # every scheduled message, for a building and a district team
            for kind in ("agenda", "digest", "roundup", "progress", "nudges", "follow_up"):
                for team in ("lincoln", "riverside"):
                    await run_job(w.server.rt, kind, team)
            await settle()

        for c in fake_slack.calls:
            if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                seen += [(f"slack {c.method}", t) for t in readable(c.args.get("blocks"))]
            if c.method in ("views.open", "views.update", "views.push", "views.publish"):
                seen += [(f"slack {c.method}", t) for t in readable(c.args.get("view"))]
        for (conv, _), p in w.connector.posted.items():
            for version in p.versions:
                seen += [(f"teams {conv}", t) for t in readable(version.get("attachments"))]
                seen.append((f"teams {conv}", str(version.get("text") or "")))
        for row in await w.outbox():
            seen += [(f"outbox {row.dest_kind}", t) for t in readable(row.payload)]

    known = names()
    leaks = {(where, text[:160]): bad for where, text in seen if (bad := escaped(text, known))}
    assert len(seen) > 100  # the run produced what it should have
    assert not leaks, "English that escaped translation:\n" + "\n".join(
        f"{where}: {text!r} -> {bad}" for (where, text), bad in list(leaks.items())[:40]
    )
