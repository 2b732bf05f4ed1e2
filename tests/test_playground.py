"""The browser playground over HTTP: be anyone, see their messages, act, and watch the loop."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Item
from tests.client import Client
from tests.web_support import FETCH, act, page, server_of, serving, settings_for, settle, text_of


@pytest.fixture
async def client(db_url: str, clock: FixedClock) -> AsyncIterator[Client]:
    async with serving(settings_for(db_url), clock) as c:
        yield c


async def items(client: Client) -> list[Item]:
    async with server_of(client).rt.db.transaction() as s:
        return list((await s.scalars(select(Item).order_by(Item.id))).all())


REPORT = {
    "kind": "submit",
    "form_id": "barrier",
    "f.summary": "Screener data <script>alert(1)</script> arrives *three weeks* late",
    "f.details": "Every benchmark window",
    "f.affected": "students",
    "f.driver": "data_systems",
    "f.urgency": "high",
}


async def test_picker_lists_every_team_and_person(client: Client) -> None:
    resp = await client.get("/")
    html = await resp.text()
    assert resp.status == 200
    for name in ("State Implementation Team", "Lincoln Elementary Implementation Team"):
        assert name in html
    assert 'href="/?as=carol"' in html and "Carol Jensen" in html
    # the state team comes before the districts, which come before their buildings
    assert html.index("State Implementation") < html.index("Riverside District")
    assert html.index("Riverside District") < html.index("Lincoln Elementary Implementation")


async def test_a_person_sees_their_dm_and_their_teams_channels_only(client: Client) -> None:
    html = await page(client, "carol")
    assert "Direct messages with Looplink" in html
    assert 'data-conv="team:lincoln"' in html
    assert 'data-conv="team:riverside"' not in html
    assert (await client.get("/", params={"as": "carol", "conv": "team:state"})).status == 404
    assert (await client.get("/", params={"as": "nobody"})).status == 404
    dana = await page(client, "dana")
    assert 'data-conv="team:riverside"' in dana and 'data-conv="team:state"' in dana


async def test_the_whole_loop_by_clicks_across_three_people(client: Client) -> None:
    # carol opens the report form from the quick action; a missing summary is an inline error
    opened = await act(client, "carol", kind="action", action="open:barrier")
    assert 'id="pf"' in opened["panel"] and "Report a barrier" in opened["panel"]
    empty = await act(client, "carol", kind="submit", form_id="barrier", **{"f.summary": " "})
    assert "Please say what is getting in the way." in empty["panel"]
    assert 'aria-invalid="true"' in empty["panel"]
    assert await items(client) == []

    sent = await act(client, "carol", **REPORT)
    assert sent["panel"].strip() == ""  # the form closed
    assert "Only you can see this" in sent["messages"]
    assert (
        "your barrier #1 is with <strong>Lincoln Elementary Implementation Team</strong>"
        in (sent["messages"])
    )
    [item] = await items(client)
    assert item.affected == ["students"] and item.driver == "data_systems"

    # alice (Lincoln lead) sees the card in the Lincoln channel, escaped, with *bold* rendered
    lincoln = await page(client, "alice", "team:lincoln")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in lincoln
    assert "<script>alert(1)" not in lincoln
    assert "<strong>three weeks</strong>" in lincoln
    assert 'value="decide:escalate"' in lincoln

    # carol cannot decide: the reply is only for her, and nothing changes
    refused = await act(
        client, "carol", "team:lincoln", kind="action", action="decide:escalate", value="1"
    )
    assert "Only the lead or liaison" in refused["messages"]

    # alice presses Escalate: the button opens the note form; she confirms with a note
    pressed = await act(
        client, "alice", "team:lincoln", kind="action", action="decide:escalate", value="1"
    )
    assert "Why it cannot be solved at this level" in pressed["panel"]
    assert 'name="c.decision" value="escalate"' in pressed["panel"]
    done = await act(
        client,
        "alice",
        "team:lincoln",
        kind="submit",
        form_id="decide",
        **{"f.note": "The vendor contract is held by the district"},
    )
    assert "#1 escalated to the team above." in text_of(done["messages"])

    # dana sees it in the Riverside channel with the note, and resolves it
    riverside = await page(client, "dana", "team:riverside")
    assert "The vendor contract is held by the district" in riverside
    await act(client, "dana", "team:riverside", kind="action", action="decide:resolve", value="1")
    await act(
        client,
        "dana",
        "team:riverside",
        kind="submit",
        form_id="decide",
        **{"f.note": "Coaches get dashboard access from 1 December"},
    )

    # carol gets the response in her direct messages, with the follow-up buttons
    dm = await page(client, "carol")
    assert "Coaches get dashboard access from 1 December" in dm
    assert 'value="feedback:goal_met"' in dm
    [item] = await items(client)
    assert item.state == "resolved" and item.reporter_told_at is not None
    thanks = await act(client, "carol", kind="action", action="feedback:goal_met", value="1")
    assert "recorded that the fix met the goal" in thanks["messages"]


async def test_step_by_step_report_in_the_chat_box(client: Client) -> None:
    first = await act(client, "carol", kind="text", text="barrier")
    assert "What is getting in the way?" in first["messages"]
    assert ">barrier<" in first["messages"].replace("\n", "")  # what carol typed is shown
    answers = [
        "Substitute cover is never available for coaching",
        "Every Tuesday",
        "staff: new teachers",
        "3",
        "skip",
        "2",  # outside this team's control (issue 15)
        "Cancelled 6 of the last 8 weeks",  # how they know
        "Asked the office",
        "A standing substitute",
        "normal",
        "no",
    ]
    for answer in answers:
        await act(client, "carol", kind="text", text=answer)
    confirm = await act(client, "carol", kind="text", text="looks good")
    assert "Reply 'send' to send it, or 'cancel' to stop." in text_of(confirm["messages"])
    await act(client, "carol", kind="text", text="send")
    [item] = await items(client)
    assert item.summary.startswith("Substitute cover") and item.subgroup == "new teachers"
    assert item.driver == "coaching"


async def test_slash_command_opens_the_form_with_the_text(client: Client) -> None:
    out = await act(client, "carol", kind="text", text="/barrier copier broken")
    assert "copier broken</textarea>" in out["panel"]
    cancelled = await act(client, "carol", kind="cancel")
    assert cancelled["panel"].strip() == ""


async def test_kudos_and_my_reports(client: Client) -> None:
    out = await act(client, "carol", kind="text", text="kudos @alice for running the data review")
    assert "Recognition sent" in out["messages"]
    alice = await page(client, "alice")
    assert "recognises <strong>Alice Reyes</strong>: running the data review" in alice
    mine = await act(client, "carol", kind="action", action="mine")
    assert "You have not reported anything yet" in mine["messages"]
    await act(client, "carol", **REPORT)
    mine = await act(client, "carol", kind="text", text="mine")
    assert "Your reports" in mine["messages"] and "with Lincoln Elementary" in mine["messages"]


async def test_plain_text_in_a_channel_gets_a_hint(client: Client) -> None:
    out = await act(client, "carol", "team:lincoln", kind="text", text="good morning all")
    assert "only answers commands" in out["messages"]


async def test_works_without_javascript(client: Client) -> None:
    resp = await client.post(
        "/play/act",
        data={"as": "carol", "conv": "dm", "kind": "action", "action": "open:barrier"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/?as=carol&conv=dm#panel"
    html = await page(client, "carol")
    assert 'id="pf"' in html  # the open form is on the page


async def test_the_same_submission_twice_is_handled_once(client: Client) -> None:
    await act(client, "carol", **REPORT, nonce="abc123")
    await act(client, "carol", **REPORT, nonce="abc123")
    assert len(await items(client)) == 1


async def test_cross_site_posts_are_refused(client: Client) -> None:
    resp = await client.post(
        "/play/act",
        data={"as": "carol", "conv": "dm", "kind": "text", "text": "help"},
        headers={"Origin": "http://evil.example", **FETCH},
    )
    assert resp.status == 403


async def test_live_updates_arrive_as_server_sent_events(client: Client) -> None:
    resp = await client.get("/play/events", params={"as": "alice"})
    assert resp.headers["Content-Type"].startswith("text/event-stream")

    async def next_event() -> tuple[str, dict[str, str]]:
        name = ""
        while True:
            line = (await resp.content.readline()).decode().strip()
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                return name, json.loads(line[6:])

    async with asyncio.timeout(10):
        assert (await next_event())[0] == "ready"
        await act(client, "carol", **REPORT)  # the card goes to alice's Lincoln channel
        name, data = await next_event()
    assert (name, data) == ("delivered", {"conv": "team:lincoln"})
    resp.close()


async def test_agenda_items_and_run_now_from_a_team_channel(client: Client) -> None:
    added = await act(
        client, "alice", "team:lincoln", kind="text", text="agenda add Review the coaching schedule"
    )
    assert "agenda" in text_of(added["messages"]).lower()
    await act(client, "carol", **REPORT)
    chat = LocalChat(server_of(client).rt)
    before = len(await chat.channel("lincoln"))
    ran = await client.post(
        "/play/run",
        data={"as": "alice", "conv": "team:lincoln", "team": "lincoln", "job": "agenda"},
        headers=FETCH,
    )
    note = text_of((await ran.json())["messages"])
    assert (
        "agenda for Lincoln Elementary Implementation Team now: 1 message, in the Lincoln Elementary channel"
        in note
    )
    await settle(client)
    [agenda] = (await chat.channel("lincoln"))[before:]
    assert "Review the coaching schedule" in agenda.message.plain()

    # the digest goes to the team's leads and liaisons, in their direct messages
    ran = await client.post(
        "/play/run",
        data={"as": "alice", "conv": "team:lincoln", "team": "lincoln", "job": "digest"},
        headers=FETCH,
    )
    note = text_of((await ran.json())["messages"])
    assert "in Alice Reyes's direct messages and Bob Tanaka's direct messages" in note
    await settle(client)
    digest = (await chat.dms("alice"))[-1].message.plain()
    assert "Screener data" in digest
    assert "Screener data" in await page(client, "alice")
    bad = await client.post(
        "/play/run",
        data={"as": "alice", "conv": "team:lincoln", "team": "lincoln", "job": "rm -rf"},
        headers=FETCH,
    )
    assert "Unknown job or team." in (await bad.json())["messages"]


async def test_run_now_says_when_the_scheduler_is_missing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "scheduler.api", None)  # as if it were not installed
    resp = await client.post(
        "/play/run",
        data={"as": "alice", "conv": "team:lincoln", "team": "lincoln", "job": "digest"},
        headers=FETCH,
    )
    assert "not part of this build" in (await resp.json())["messages"]


async def test_ask_the_reporter_and_answer_from_the_dm(client: Client) -> None:
    await act(client, "carol", **REPORT)
    await act(client, "alice", "team:lincoln", kind="action", action="decide:ask_info", value="1")
    await act(
        client,
        "alice",
        "team:lincoln",
        kind="submit",
        form_id="decide",
        **{"f.note": "Which grades are affected?"},
    )
    dm = await page(client, "carol")
    assert "Which grades are affected?" in dm and 'value="answer"' in dm
    opened = await act(client, "carol", kind="action", action="answer", value="1")
    assert "Answer about #1" in opened["panel"] and 'name="c.item" value="1"' in opened["panel"]
    await act(client, "carol", kind="submit", form_id="answer", **{"f.answer": "Grades 1 to 3"})
    lincoln = text_of(await page(client, "alice", "team:lincoln"))
    assert "The reporter of #1 answered (Carol Jensen): Grades 1 to 3" in lincoln


async def test_kudos_form_to_a_team(client: Client) -> None:
    opened = await act(client, "carol", kind="action", action="open:kudos")
    assert 'list="people-list"' in opened["panel"]
    html = await page(client, "carol")
    assert '<option value="lincoln">Team: Lincoln Elementary Implementation Team</option>' in html
    await act(
        client,
        "carol",
        kind="submit",
        form_id="kudos",
        **{"f.target": "washington", "f.text": "sharing their coaching schedule"},
    )
    hana = text_of(await page(client, "hana", "team:washington"))
    assert "Carol Jensen recognises Washington Middle School" in hana
