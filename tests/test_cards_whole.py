"""Cards that leaders can decide from (issue 15): the whole statement, the whole path with each
level's reason, footers as sentences; successes are not barriers."""

from __future__ import annotations

import json

from sqlalchemy import select

from adapters.local import LocalChat
from adapters.slack.blocks import message_blocks
from adapters.teams.cards import message_activity, message_card
from bot.cards import card_key
from bot.clock import FixedClock
from bot.db.models import Item
from tests.card_preview import adaptive_html
from tests.fakes.connector import card_text
from tests.fakes.slack_api import FakeSlack, block_text
from tests.slack_harness import BARRIER, report_barrier, running_slack
from tests.test_card_shots import FULL, LONG, escalated_twice, state_card

ALICE_WHY = "Substitute training is set by the district's HR contract, not by the school."
DANA_WHY = "Paid training time for substitutes needs the state's funding rule changed."


def _slack_text(blocks: list[dict[str, object]]) -> str:
    out = block_text(blocks)
    return out.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _buttons(blocks: list[dict[str, object]]) -> list[str]:
    return [
        str(e["text"]["text"])
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]  # type: ignore[attr-defined]
    ]


async def _last_item(chat: LocalChat) -> Item:
    async with chat.rt.db.transaction() as s:
        item = (await s.scalars(select(Item).order_by(Item.id.desc()))).first()
        assert item is not None
        return item


async def test_the_whole_statement_is_on_the_card_in_slack_and_teams(chat: LocalChat) -> None:
    iid = await escalated_twice(chat)
    card = await state_card(chat, iid)
    assert LONG in card.plain()
    assert LONG in _slack_text(message_blocks(card))
    assert LONG in card_text(message_card(card))


async def test_an_escalated_card_shows_every_level_and_its_reason(chat: LocalChat) -> None:
    iid = await escalated_twice(chat)
    text = (await state_card(chat, iid)).plain()
    assert ALICE_WHY in text and DANA_WHY in text, text
    assert text.index(ALICE_WHY) < text.index(DANA_WHY)  # in the order it travelled
    assert "Lincoln Elementary Implementation Team" in text and "Riverside" in text


async def test_footers_are_sentences(chat: LocalChat) -> None:
    iid = await escalated_twice(chat)
    footer = (await state_card(chat, iid)).footer
    assert "Escalated by Dana Whitfield on Mon 23 Nov 2026" in footer, footer
    assert "escalate by" not in footer and " — " not in footer.split("·")[0].split(".")[0]


async def test_what_a_platform_must_shorten_is_behind_show_full_report(chat: LocalChat) -> None:
    details = "Every Tuesday and Thursday, grades 2 to 4. " * 60  # ~2,600 characters
    await chat.submit("carol", "barrier", {**FULL, "details": details.strip()})
    iid = (await _last_item(chat)).id
    card = (await chat.channel("lincoln"))[-1].message
    blocks = message_blocks(card)
    assert details.strip() not in _slack_text(blocks)  # a Slack field holds 2,000 at most
    assert "Show full report" in _buttons(blocks)
    shown = await chat.press("alice", "full_report", str(iid))
    assert details.strip() in shown.text() and LONG in shown.text()
    assert shown.show_apart  # a window of its own (a Slack modal) where the platform has one
    # Teams: a card too large to send is shortened, and says how to read the rest
    huge = card.__class__(**{**card.__dict__, "fields": card.fields * 12})
    activity = message_activity(huge, key=card_key(iid, "lincoln"))
    assert "Show full report" in json.dumps(activity)
    assert "Show full report" not in json.dumps(message_activity(card))  # only when needed
    assert adaptive_html(message_card(card))


async def test_a_success_card_has_its_own_words_and_buttons(chat: LocalChat) -> None:
    await chat.submit("carol", "success", {"summary": "Peer coaching doubled our fidelity scores"})
    item = await _last_item(chat)
    assert item.due_at is None  # no response deadline on a success
    card = (await chat.channel("lincoln"))[-1].message
    labels = [b.label for b in card.buttons]
    assert labels[:3] == ["Celebrate", "Send up to share", "Thank the reporter"], labels
    text = card.plain()
    assert "Urgency" not in text and "response due" not in text.lower()
    assert "Decline" not in labels and "Ask reporter" not in labels


async def test_sending_a_success_up_asks_why_it_should_spread(chat: LocalChat) -> None:
    await chat.submit("carol", "success", {"summary": "Peer coaching doubled fidelity"})
    iid = (await _last_item(chat)).id
    opened = await chat.press("alice", "decide:escalate", str(iid))
    assert opened.form is not None
    words = " ".join(f.label for f in opened.form.fields) + opened.form.title
    assert "cannot be solved" not in words and "spread" in words, words
    await chat.submit(
        "alice",
        "decide",
        {"note": "Other schools could use it"},
        {"item": str(iid), "decision": "escalate"},
    )
    posted = "\n".join(r.message.plain() for r in await chat.channel("lincoln"))
    assert "response time" not in posted.split("Other schools could use it")[0][-300:]


async def test_the_reporter_of_a_success_hears_it_was_shared(chat: LocalChat) -> None:
    await chat.submit("carol", "success", {"summary": "Peer coaching doubled fidelity"})
    iid = (await _last_item(chat)).id
    await chat.submit(
        "alice",
        "decide",
        {"note": "Shared at the staff meeting"},
        {"item": str(iid), "decision": "resolve"},
    )
    told = "\n".join(r.message.plain() for r in await chat.dms("carol"))
    assert "your success" in told.lower() and "shared" in told, told
    assert "resolved success" not in told


async def test_thank_the_reporter(chat: LocalChat) -> None:
    await chat.submit(
        "carol", "success", {"summary": "Peer coaching doubled fidelity", "anonymous": "yes"}
    )
    iid = (await _last_item(chat)).id
    said = await chat.press("alice", "thank", str(iid))
    assert "thanks" in said.text().lower(), said.text()
    dm = (await chat.dms("carol"))[-1].message.plain()
    assert "Lincoln Elementary Implementation Team thanks you" in dm, dm


async def test_slack_show_full_report_opens_a_modal_with_all_of_it(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    details = "Every Tuesday and Thursday, grades 2 to 4. " * 60
    async with running_slack(db_url, clock, fake) as slack:
        iid = await report_barrier(slack, {**BARRIER, "details": details.strip()})
        await slack.settle()
        card = slack.message("C0LINCOLN")
        status, _body = await slack.user.click("U0ALICE", "C0LINCOLN", card, "full_report")
        assert status == 200
        await slack.settle()
        opened = fake.to("views.open")
        assert opened, fake.methods()
        shown = block_text(opened[-1].args["view"]["blocks"])
        assert details.strip() in shown.replace("&amp;", "&")
        assert f"Barrier #{iid}" in json.dumps(opened[-1].args["view"])
