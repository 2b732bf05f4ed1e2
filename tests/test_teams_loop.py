"""The whole loop in Microsoft Teams, over real HTTP: Teams-shaped activities are POSTed to
/api/messages of the real server, and everything the bot sends goes to a fake Bot Framework
connector (a real HTTP server) that records it.

Quinn (Oak Grove member) reports a barrier in a personal chat -> Maya (Oak Grove lead)
escalates it from the card in the Oak Grove channel -> Mara (Millbrook lead) resolves it from
the card in the Millbrook channel -> the answer is relayed to both channels and, proactively,
to Quinn's personal chat. Cards are updated in place.
"""

from __future__ import annotations

from typing import Any

from bot.clock import FixedClock
from tests.fakes.connector import Posted, action, card_text
from tests.fakes.teams_client import MARA, MAYA, MILLBROOK, OAKGROVE, QUINN, STATE, TeamsUser
from tests.teams_world import World, teams_world

SECRET_NOTE = "The district signs the vendor contract"
RESOLUTION = "Coaches get read access to the dashboard from 1 December."

BARRIER_INPUTS = {
    "in_summary": "Screener data arrives three weeks late",
    "in_details": "Every benchmark window, all grades",
    "in_affected": "students,staff",
    "in_driver": "data_systems",
    "in_stage": "initial_implementation",
    "in_tried": "Asked the office to export earlier",
    "in_suggestion": "Direct access to the vendor dashboard",
    "in_urgency": "high",
}


async def install_everywhere(w: World) -> None:
    """The app is installed in the three Teams-connected team channels (refs get stored)."""
    for who, channel in ((MAYA, OAKGROVE), (MARA, MILLBROOK), (MARA, STATE)):
        r = await w.teams.install_team(who, channel)
        assert r.status == 200


def item_card(w: World, channel: str, item_id: int) -> Posted:
    cards = [p for p in w.connector.to(channel) if f"Barrier #{item_id}:" in p.text()]
    assert len(cards) == 1, [p.text()[:80] for p in w.connector.to(channel)]
    return cards[0]


def titles(content: dict[str, Any]) -> list[str]:
    return [a["title"] for a in content.get("actions") or []]


async def report_with_form(w: World, who: TeamsUser, anonymous: bool) -> int:
    """Type 'barrier' in the personal chat, switch to the form, fill it in, submit."""
    r = await w.teams.say(who, "barrier")
    assert r.status == 200
    intro, question = w.connector.to(who.personal_conversation)[-2:]
    assert "Let's report a barrier" in intro.text()
    assert "What is getting in the way?" in question.text()

    opened = await w.teams.execute(who, action(intro.card, "Use the form instead"))
    assert opened.status == 200
    form = opened.card
    assert "Report a barrier" in card_text(form)
    ids = [e.get("id") for e in form["body"] if e.get("id")]
    assert ids[:3] == ["in_summary", "in_details", "in_affected"]
    assert "in_anonymous" in ids

    inputs = {**BARRIER_INPUTS, "in_anonymous": "yes" if anonymous else "no"}
    sent = await w.teams.execute(who, action(form, "Send to my team"), inputs)
    assert sent.status == 200
    thanks = card_text(sent.card)
    assert "is with **Oak Grove Elementary Implementation Team**" in thanks
    items = await w.items()
    assert items[-1].summary == BARRIER_INPUTS["in_summary"]
    assert items[-1].anonymous is anonymous
    return items[-1].id


async def escalate_and_resolve(w: World, iid: int) -> None:
    # the card arrives in the Oak Grove channel with the decision buttons
    await w.deliver()
    card = item_card(w, OAKGROVE, iid)
    assert "Escalate" in titles(card.card)

    # Maya presses Escalate: the note form replaces the card, for her only
    pressed = await w.teams.execute(
        MAYA, action(card.card, "Escalate"), channel=OAKGROVE, reply_to=card.activity_id
    )
    assert pressed.status == 200
    form = pressed.card
    assert "Escalate #" in card_text(form)
    assert [e["id"] for e in form["body"] if e.get("id")] == ["in_note"]

    # submitting without a note keeps the form open, with the error on it
    empty = await w.teams.execute(
        MAYA, action(form, "Confirm"), {"in_note": ""}, channel=OAKGROVE, reply_to=card.activity_id
    )
    assert "Please add a note" in card_text(empty.card)
    assert (await w.items())[0].state == "new"

    done = await w.teams.execute(
        MAYA,
        action(empty.card, "Confirm"),
        {"in_note": SECRET_NOTE},
        channel=OAKGROVE,
        reply_to=card.activity_id,
    )
    assert done.status == 200
    shown = card_text(done.card)  # the card again, current, with what happened on top
    assert f"#{iid} escalated to the team above." in shown
    assert "Escalated" in shown and "Escalate" not in titles(done.card)

    await w.deliver()
    updated = item_card(w, OAKGROVE, iid)
    assert updated.activity_id == card.activity_id and len(updated.versions) >= 2  # in place
    assert titles(updated.card) == []  # no longer Oak Grove's to decide
    assert "Millbrook District Implementation Team" in updated.text()

    # Mara resolves from the Millbrook channel
    mcard = item_card(w, MILLBROOK, iid)
    assert SECRET_NOTE in mcard.text()  # why it came up
    pressed = await w.teams.execute(
        MARA, action(mcard.card, "Resolve here"), channel=MILLBROOK, reply_to=mcard.activity_id
    )
    done = await w.teams.execute(
        MARA,
        action(pressed.card, "Confirm"),
        {"in_note": RESOLUTION},
        channel=MILLBROOK,
        reply_to=mcard.activity_id,
    )
    assert f"#{iid} resolved" in card_text(done.card)
    await w.deliver()


async def test_full_loop_in_teams(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await escalate_and_resolve(w, iid)

        item = (await w.items())[0]
        assert item.state == "resolved" and item.closed_by_team_id == "millbrook"
        assert item.reporter_told_at is not None

        # both cards were updated in place and show who decided, and when
        for channel in (OAKGROVE, MILLBROOK):
            final = item_card(w, channel, iid)
            assert "Resolved by Mara Quispe on" in final.text()
            assert RESOLUTION in final.text()
            assert titles(final.card) == []
        assert ("Reported by" in item_card(w, OAKGROVE, iid).text()) and (
            "Quinn Murphy" in item_card(w, OAKGROVE, iid).text()
        )

        # the answer was relayed to Oak Grove's channel, as a new post
        relays = [p for p in w.connector.to(OAKGROVE) if "resolved barrier" in p.text()]
        assert len(relays) == 1 and RESOLUTION in relays[0].text()

        # ... and proactively to Quinn's personal chat, with the "did it help?" buttons
        dm = w.connector.to(QUINN.personal_conversation)[-1]
        assert RESOLUTION in dm.text()
        assert titles(dm.card) == [
            "Worse",
            "No change",
            "Better",
            "Goal met",
            "Got it",
            "I still have a question",
        ]
        posts = [c for c in w.connector.calls if c.conversation_id == QUINN.personal_conversation]
        assert posts[-1].method == "POST" and posts[-1].activity_id is None  # proactive

        # Quinn says it got better: the button answers in the chat
        r = await w.teams.execute(QUINN, action(dm.card, "Better"))
        assert r.status == 200
        # the card itself answers: its outcome buttons replaced by the recorded answer
        answered = card_text(r.card)
        assert "recorded that the fix made things better" in answered, answered
        assert titles(r.card) == ["Change my answer", "Got it", "I still have a question"]
        async with w.server.rt.db.transaction() as s:
            from bot.db.models import Item

            again = await s.get(Item, iid)
            assert again is not None and again.outcome == "better"


async def test_anonymous_report_never_reveals_the_reporter(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=True)
        await escalate_and_resolve(w, iid)
        assert "Anonymous" in item_card(w, OAKGROVE, iid).text()

        secrets = [
            "quinn",
            "Quinn",
            "Murphy",
            "quinn.murphy@millbrook.example",
            QUINN.id,
            QUINN.aad,
        ]
        # Quinn's own chat is addressed to Quinn (an opaque conversation id), but no request
        # the bot made - path or body, to any conversation - carries who Quinn is.
        everything = w.connector.all_json()
        assert RESOLUTION in everything and SECRET_NOTE in everything
        for secret in secrets:
            assert secret not in everything, secret
        # and Quinn still heard back, privately
        assert RESOLUTION in w.connector.to(QUINN.personal_conversation)[-1].text()
