"""Stale decision forms, on every surface that has them (Slack modals, Teams cards, the
playground): a form carries the item's holding team and version from when it opened; a
submission for an item that has moved on since is refused with "this item has moved on: here
is where it is now", and the note typed into it is given back in the answer.

The finding (issue 11): Bob opened Escalate on a Lincoln card; Alice escalated first; Bob then
submitted, and the item went on from the district to the state with Bob's note written for
Lincoln. A stale Resolve form resolved an item that had moved to the district "at school level".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Hop, Item
from tests.client import Client
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import FakeSlack, block_text
from tests.fakes.teams_client import MAYA, MILLBROOK, NOAH, OAKGROVE, QUINN
from tests.slack_harness import BARRIER, Slack, report_barrier, running_slack
from tests.teams_world import teams_world
from tests.test_teams_loop import install_everywhere, item_card, report_with_form
from tests.web_support import act, server_of, serving, settings_for, text_of

BOB_NOTE = "Lincoln cannot change the bus contract"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


async def where(db: Any, item_id: int) -> tuple[str, str, list[str]]:
    async with db.transaction() as s:
        item = await s.get(Item, item_id)
        assert item is not None
        q = select(Hop.team_id).where(Hop.item_id == item_id).order_by(Hop.seq)
        return item.state, item.holding_team_id, list((await s.scalars(q)).all())


# ---- Slack: modals ------------------------------------------------------------------------


async def open_modal(slack: Slack, user: str, action_id: str) -> dict[str, Any]:
    card = next(
        m
        for (ch, _ts), m in slack.fake.messages.items()
        if ch == "C0LINCOLN" and "decide:" in json.dumps(m)
    )
    status, body = await slack.user.click(user, "C0LINCOLN", card, action_id)
    assert (status, body) == (200, "")
    await slack.platform.idle()
    return slack.last_view()


async def submit(slack: Slack, user: str, view: dict[str, Any], note: str) -> str:
    status, body = await slack.user.submit(user, view, {"note": note})
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    return block_text(answer["view"]["blocks"])


async def test_slack_stale_escalate_form_is_refused(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    async with running_slack(db_url, clock, fake) as slack:
        iid = await report_barrier(slack, BARRIER)
        await slack.settle()
        bobs = await open_modal(slack, "U0BOB", "decide:escalate")  # Bob opens Escalate ...
        alices = await open_modal(slack, "U0ALICE", "decide:escalate")
        said = await submit(slack, "U0ALICE", alices, "District contract")  # ... Alice first
        assert said.startswith(f"#{iid} escalated to the team above")
        await slack.settle()
        said = await submit(slack, "U0BOB", bobs, BOB_NOTE)  # Bob, minutes later
        assert "already decided by Alice Reyes: escalated" in said, said
        assert "This item has moved on: here is where it is now" in said
        assert "with Riverside District Implementation Team" in said
        assert BOB_NOTE in said  # what he typed is not lost
        assert await where(slack.server.rt.db, iid) == (
            "escalated",
            "riverside",
            ["lincoln", "riverside"],  # not on to the state
        )


async def test_slack_stale_resolve_form_does_not_resolve_at_school_level(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    async with running_slack(db_url, clock, fake) as slack:
        iid = await report_barrier(slack, BARRIER)
        await slack.settle()
        resolve = await open_modal(slack, "U0ALICE", "decide:resolve")
        escalate = await open_modal(slack, "U0BOB", "decide:escalate")
        await submit(slack, "U0BOB", escalate, "District contract")
        await slack.settle()
        said = await submit(slack, "U0ALICE", resolve, "Fixed at school level")
        assert "has moved on" in said and "Riverside District" in said, said
        assert "Fixed at school level" in said
        state, holding, _ = await where(slack.server.rt.db, iid)
        assert (state, holding) == ("escalated", "riverside")


# ---- Teams: Adaptive Cards ------------------------------------------------------------------


async def test_teams_stale_escalate_card_is_refused(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        card = item_card(w, OAKGROVE, iid)

        async def press(who: Any) -> dict[str, Any]:
            opened = await w.teams.execute(
                who, action(card.card, "Escalate"), channel=OAKGROVE, reply_to=card.activity_id
            )
            assert opened.status == 200
            return opened.card

        noahs, mayas = await press(NOAH), await press(MAYA)

        async def confirm(who: Any, form: dict[str, Any], note: str) -> str:
            done = await w.teams.execute(
                who,
                action(form, "Confirm"),
                {"in_note": note},
                channel=OAKGROVE,
                reply_to=card.activity_id,
            )
            assert done.status == 200
            return card_text(done.card)

        assert f"#{iid} escalated to the team above." in await confirm(MAYA, mayas, "District")
        await w.deliver()
        said = await confirm(NOAH, noahs, BOB_NOTE)
        assert "already decided by Maya Singh: escalated" in said, said
        assert "here is where it is now" in said and "Millbrook District" in said
        assert BOB_NOTE in said
        state, holding, hops = await where(w.server.rt.db, iid)
        assert (state, holding, hops) == ("escalated", "millbrook", ["oakgrove", "millbrook"])
        mcard = item_card(w, MILLBROOK, iid)  # Millbrook decides now, from its own card
        assert "Escalate" in [a["title"] for a in mcard.card.get("actions") or []]


# ---- the playground: HTML forms --------------------------------------------------------------


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url), clock) as c:
        yield c


async def test_playground_stale_escalate_form_is_refused(client: Client) -> None:
    await act(
        client, "carol", kind="submit", form_id="barrier", **{"f.summary": "Bus cuts coaching"}
    )
    for who in ("bob", "alice"):  # both open the Escalate form on the Lincoln card
        opened = await act(
            client, who, "team:lincoln", kind="action", action="decide:escalate", value="1"
        )
        assert 'name="c.version" value="0"' in opened["panel"]
    done = await act(
        client, "alice", "team:lincoln", kind="submit", form_id="decide", **{"f.note": "District"}
    )
    assert "#1 escalated to the team above." in text_of(done["messages"])
    late = await act(
        client, "bob", "team:lincoln", kind="submit", form_id="decide", **{"f.note": BOB_NOTE}
    )
    said = text_of(late["messages"])
    assert "already decided by Alice Reyes: escalated" in said, said
    assert "here is where it is now" in said and BOB_NOTE in said
    state, holding, hops = await where(server_of(client).rt.db, 1)
    assert (state, holding, hops) == ("escalated", "riverside", ["lincoln", "riverside"])


# ---- the core: a form made stale by the reporter's answer, on an anonymous item --------------


async def test_a_form_made_stale_by_an_anonymous_reporters_answer_never_names_them(
    chat: LocalChat,
) -> None:
    """Alice asks the (anonymous) reporter a question and opens Decline meanwhile; Carol answers;
    Alice's Decline form is refused: the item changed, and the refusal says so without a name."""
    sent = await chat.submit("carol", "barrier", {"summary": "Coaching is cut", "anonymous": "yes"})
    assert "Thanks" in sent.text()
    await chat.submit(
        "alice", "decide", {"note": "Which grades?"}, {"item": "1", "decision": "ask_info"}
    )
    declining = await chat.press("alice", "decide:decline", "1")
    assert declining.form is not None
    question = (await chat.dms("carol"))[-1].message
    opened = await chat.press("carol", question.buttons[0].action, question.buttons[0].value)
    assert opened.form is not None
    await chat.submit("carol", "answer", {"answer": "Grades 3 to 5"}, opened.form.context)
    refused = await chat.submit("alice", "decide", {"note": "Out of scope"}, declining.form.context)
    said = refused.text()
    assert "#1 changed meanwhile: the reporter answered the team's question." in said, said
    assert "here is where it is now: New" in said and "Out of scope" in said
    assert "Carol" not in said
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, 1)
        assert item is not None and item.state == "new"
