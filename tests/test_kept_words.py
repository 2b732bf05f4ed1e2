"""Nothing a person typed is thrown away (issue 15): a form with a mistake stays open with
everything in it and the error next to the field, in words, on every surface."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from html import unescape

import pytest

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Item, Kudos
from bot.domain import MAX_TEXT
from tests.client import Client
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import FakeSlack
from tests.fakes.teams_client import QUINN
from tests.slack_harness import Slack, running_slack
from tests.teams_world import teams_world
from tests.test_teams_loop import BARRIER_INPUTS
from tests.web_support import act, serving, settings_for

TOO_LONG = "x" * (MAX_TEXT + 2200)
LABELLED = f"“What is getting in the way” is too long: {len(TOO_LONG):,} characters"


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url), clock) as c:
        yield c


async def test_playground_keeps_the_form_and_every_answer_on_a_too_long_answer(
    client: Client,
) -> None:
    await act(client, "carol", kind="action", action="open:barrier")
    out = await act(
        client,
        "carol",
        kind="submit",
        form_id="barrier",
        **{
            "f.summary": TOO_LONG,
            "f.details": "Grades 2 to 4, every Tuesday",
            "f.tried": "A routine card for substitutes",
            "f.suggestion": "Paid training time",
        },
    )
    panel = unescape(out["panel"])
    assert LABELLED in panel, panel[:2000]
    assert "'summary'" not in panel + out["messages"]
    for kept in ("Grades 2 to 4, every Tuesday", "A routine card for substitutes", TOO_LONG):
        assert kept in panel
    assert "Paid training time" in panel


async def test_playground_kudos_to_an_unknown_name_keeps_the_form(client: Client) -> None:
    await act(client, "carol", kind="action", action="open:kudos")
    out = await act(
        client,
        "carol",
        kind="submit",
        form_id="kudos",
        **{"f.target": "Alcie", "f.text": "running the data review so well"},
    )
    panel = unescape(out["panel"])
    assert "I could not find a person or team called 'Alcie'" in panel
    assert "running the data review so well" in panel


async def test_slack_errors_sit_under_the_field_that_is_wrong(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    async with running_slack(db_url, clock, fake) as slack:
        await _slack_too_long(slack)


async def _slack_too_long(slack: Slack) -> None:
    await slack.user.command("U0CAROL", "/barrier")
    await slack.settle()
    view = slack.last_view()
    status, body = await slack.user.submit(
        "U0CAROL", view, {"summary": "Fine", "details": TOO_LONG, "tried": "Routine card"}
    )
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors", answer
    assert list(answer["errors"]) == ["details"]
    assert "“Where, when and how often” is too long" in answer["errors"]["details"]
    assert await slack.count(Item) == 0


async def test_teams_reshows_the_card_with_the_values_and_the_error(
    db_url: str, clock: FixedClock
) -> None:
    async with teams_world(db_url, clock) as w:
        await w.teams.say(QUINN, "barrier")
        intro = w.connector.to(QUINN.personal_conversation)[-2]
        opened = await w.teams.execute(QUINN, action(intro.card, "Use the form instead"))
        inputs = {**BARRIER_INPUTS, "in_summary": TOO_LONG, "in_anonymous": "no"}
        sent = await w.teams.execute(QUINN, action(opened.card, "Send to my team"), inputs)
        shown = card_text(sent.card)
        assert LABELLED in shown, shown[:1500]
        values = {e.get("id"): e.get("value") for e in sent.card["body"] if e.get("id")}
        assert values["in_summary"] == TOO_LONG
        assert values["in_tried"] == BARRIER_INPUTS["in_tried"]
        assert await w.items() == []


async def test_kudos_unknown_name_is_a_field_error_in_slack(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    async with running_slack(db_url, clock, fake) as slack:
        await slack.user.command("U0CAROL", "/kudos")
        await slack.settle()
        status, body = await slack.user.submit(
            "U0CAROL", slack.last_view(), {"target": "Nobody Here", "text": "for the huddle"}
        )
        answer = json.loads(body)
        assert answer["response_action"] == "errors" and list(answer["errors"]) == ["target"]
        assert await slack.count(Kudos) == 0


async def test_step_by_step_too_long_answer_is_named_and_the_draft_waits(chat: LocalChat) -> None:
    await chat.say("carol", "barrier")
    said = (await chat.say("carol", TOO_LONG)).text()
    assert LABELLED in said and "'summary'" not in said, said
    assert "What is getting in the way?" in said  # the same question again
    nxt = (await chat.say("carol", "Substitutes are not trained")).text()
    assert "Where, when and how often" in nxt, nxt
