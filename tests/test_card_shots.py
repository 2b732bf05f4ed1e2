"""Screenshots of a full-length item card as Slack (Block Kit) and Teams (Adaptive Card) draw it.

A barrier with every field filled in and a long statement, escalated twice (Lincoln ->
Riverside -> State) with a reason at each level, as the state team's card. The payloads are
the real ones (`message_blocks`, `message_card`); `tests/card_preview.py` draws them roughly
in HTML and headless Chromium takes the picture: test-artifacts/cards/<label>-slack.png and
<label>-teams.png (label from LOOPLINK_SHOTS_LABEL, default "after").
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from adapters.local.adapter import LocalChat
from adapters.slack.blocks import message_blocks
from adapters.teams.cards import message_card
from bot.cards import card_key
from bot.messages import Message
from tests.card_preview import adaptive_html, blockkit_html
from tests.web_support import ROOT

CHROMIUM = os.environ.get("LOOPLINK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "cards"

LONG = (
    "Substitute teachers covering Tier 2 reading groups have not been trained in the "
    "intervention, so on days a regular interventionist is out (about two days in five this "
    "term) the group either meets with someone who does not know the routine or does not "
    "meet at all. The students who most need the extra reading time lose it first, and the "
    "fidelity checks for those days cannot be scored because nobody recorded what was done."
)
FULL = {
    "summary": LONG,
    "details": "Lincoln, grades 2-4, Tier 2 groups; about two days in five since October.",
    "affected": "students,staff",
    "subgroup": "English learners",
    "driver": "training",
    "stage": "initial_implementation",
    "tried": "A one-page routine card left for the substitute; the coach covered when free.",
    "suggestion": "A 30-minute recorded training in the substitute onboarding, paid time.",
    "urgency": "high",
    "anonymous": "",
}


async def escalated_twice(chat: LocalChat) -> int:
    await chat.submit("carol", "barrier", FULL)
    card = (await chat.channel("lincoln"))[-1].message
    iid = int(card.title.split("#", 1)[1].split(":", 1)[0])
    for who in ("alice", "dana"):
        why = {
            "alice": "Substitute training is set by the district's HR contract, not by the school.",
            "dana": "Paid training time for substitutes needs the state's funding rule changed.",
        }[who]
        await chat.submit(who, "decide", {"note": why}, {"item": str(iid), "decision": "escalate"})
    return iid


async def state_card(chat: LocalChat, iid: int) -> Message:
    key = card_key(iid, "state")
    async with chat.rt.db.transaction() as s:
        from sqlalchemy import select

        from bot.db.models import LocalMessage

        row = (
            await s.scalars(
                select(LocalMessage)
                .where(LocalMessage.update_key == key)
                .order_by(LocalMessage.id.desc())
            )
        ).first()
        assert row is not None
        return Message.from_json(row.payload)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
async def test_full_length_card_screenshots(chat: LocalChat) -> None:
    iid = await escalated_twice(chat)
    card = await state_card(chat, iid)
    label = os.environ.get("LOOPLINK_SHOTS_LABEL", "after")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        f"{label}-slack": blockkit_html(message_blocks(card)),
        f"{label}-teams": adaptive_html(message_card(card, key=card_key(iid, "state"))),
    }
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
        try:
            page = await browser.new_page(viewport={"width": 700, "height": 600})
            for name, doc in pages.items():
                (SHOTS / f"{name}.html").write_text(doc, encoding="utf-8")
                await page.set_content(doc)
                await page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
        finally:
            await browser.close()
    assert (SHOTS / f"{label}-slack.png").stat().st_size > 0
