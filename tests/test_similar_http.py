"""Similar barriers over real HTTP: signed Slack requests to the real Bolt app against the fake
Slack Web API, and Teams activities to the real botbuilder endpoint with the fake connector.

In each: a second report like a first one gets "Similar: #1" on its card with Merge and Link,
its reporter is offered to add their voice (and does), a leader opens the clusters below their
team and answers the whole cluster at once; every reporter hears the answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.db.models import ItemLink
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import FakeSlack, block_text, buttons
from tests.fakes.teams_client import MARA, QUINN, TeamsUser, user
from tests.slack_harness import Slack, report_barrier, running_slack
from tests.teams_world import World, teams_world

FIRST = "Substitutes are not trained in the new reading curriculum"
SECOND = "Subs don't know how to run the literacy lessons so kids lose the reading block"
ANSWER = "Substitute PD day on 4 December, paid, for every building"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


async def test_similar_barriers_in_slack(slack: Slack) -> None:
    fake = slack.fake
    first = await report_barrier(slack, {"summary": FIRST}, user="U0IVAN")  # Washington
    await report_barrier(slack, {"summary": SECOND, "anonymous": True}, user="U0CAROL")
    await slack.settle()

    card = slack.message("C0LINCOLN")
    text = block_text(card["blocks"])
    assert f"#{first} (Washington Middle School Implementation Team)" in text
    actions = [b["action_id"] for b in buttons(card["blocks"])]
    assert f"merge_into:{first}" in actions and f"link:{first}" in actions

    dm = fake._dm("U0CAROL")
    offer = next(
        m for (ch, _), m in fake.messages.items() if ch == dm and "Add my voice" in json.dumps(m)
    )
    assert f"looks like #{first}" in block_text(offer["blocks"])
    fake.clear()
    status, _ = await slack.user.click("U0CAROL", dm, offer, f"voice:{first}")
    assert status == 200
    await slack.settle()
    [reply] = fake.to("chat.postMessage", channel=dm)
    assert f"Your voice is added to #{first}" in block_text(reply.args["blocks"])
    assert await slack.count(ItemLink) == 1
    washington = block_text(slack.message("C0WASHINGTON")["blocks"])
    assert "1 more person (Lincoln Elementary Implementation Team)" in washington
    assert "Carol" not in washington

    # Dana (Riverside lead) opens the clusters below Riverside and answers them all at once
    status, body = await slack.user.command(
        "U0DANA", "/looplink", "clusters", channel="C0RIVERSIDE"
    )
    assert status == 200
    reply_blocks = json.loads(body)["blocks"]
    assert "2 buildings, 2 people" in block_text(reply_blocks)
    respond = [b for b in buttons(reply_blocks) if b["action_id"].startswith("cluster")][0]
    payload = slack.user.click_payload(
        "U0DANA", "C0RIVERSIDE", {"ts": "1.1", **json.loads(body)}, respond["action_id"]
    )
    payload.pop("message")
    payload["container"]["is_ephemeral"] = True
    fake.clear()
    await slack.user.interact(payload)
    await slack.settle()
    view = slack.last_view()
    assert [b["block_id"] for b in view["blocks"] if b.get("type") == "input"] == [
        "decision",
        "note",
    ]
    status, body = await slack.user.submit("U0DANA", view, {"decision": "resolve", "note": ANSWER})
    assert status == 200
    assert "Resolved 2 items" in json.dumps(json.loads(body))
    await slack.settle()
    for who in ("U0CAROL", "U0IVAN"):
        told = [
            c
            for c in fake.to("chat.postMessage", channel=fake._dm(who))
            if ANSWER in json.dumps(c.args)
        ]
        assert told, who
    carol = [
        c
        for c in fake.to("chat.postMessage", channel=fake._dm("U0CAROL"))
        if ANSWER in json.dumps(c.args)
    ]
    assert len(carol) == 1  # her own item's answer; her voice adds no second copy
    for channel in ("C0LINCOLN", "C0WASHINGTON"):  # each card, updated in place, says it
        assert any(ANSWER in json.dumps(m) for (ch, _), m in fake.messages.items() if ch == channel)
    assert "Carol" not in json.dumps(
        [c.args for c in fake.calls if c.args.get("channel") != fake._dm("U0CAROL")]
    )


ROSA = user("29:rosa", "Rosa Delgado")
SAM = user("29:sam", "Sam Achterberg")
HARBOR = "19:harbor@thread.tacv2"


async def _report(w: World, who: TeamsUser, summary: str) -> int:
    r = await w.teams.say(who, "barrier")
    assert r.status == 200
    intro = w.connector.to(who.personal_conversation)[-2]
    opened = await w.teams.execute(who, action(intro.card, "Use the form instead"))
    sent = await w.teams.execute(
        who, action(opened.card, "Send to my team"), {"in_summary": summary, "in_anonymous": "no"}
    )
    assert sent.status == 200 and "Thanks" in card_text(sent.card)
    return (await w.items())[-1].id


async def test_similar_barriers_in_teams(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        for who, channel in ((ROSA, HARBOR), (MARA, "19:millbrook@thread.tacv2")):
            assert (await w.teams.install_team(who, channel)).status == 200
        first = await _report(w, QUINN, FIRST)  # Oak Grove
        second = await _report(w, ROSA, SECOND)  # Harbor
        await w.deliver()

        [card] = [p for p in w.connector.to(HARBOR) if f"Barrier #{second}:" in p.text()]
        assert f"#{first} (Oak Grove Elementary Implementation Team)" in card.text()
        titles = [a["title"] for a in card.card.get("actions") or []]
        assert f"Merge into #{first}" in titles and f"Link #{first}" in titles

        offer = next(
            p
            for p in w.connector.to(ROSA.personal_conversation)
            if "Add my voice" in json.dumps(p.card)
        )
        r = await w.teams.execute(ROSA, action(offer.card, f"Add my voice to #{first}"))
        assert r.status == 200
        await w.deliver()
        said = " ".join(p.text() for p in w.connector.to(ROSA.personal_conversation))
        assert f"Your voice is added to #{first}" in said

        # Sam reports it a third time at Harbor; Rosa, Harbor's lead, merges it from its card
        third = await _report(w, SAM, "Substitute teachers were never shown the phonics program")
        await w.deliver()
        [card3] = [p for p in w.connector.to(HARBOR) if f"Barrier #{third}:" in p.text()]
        r = await w.teams.execute(
            ROSA,
            action(card3.card, f"Merge into #{first}"),
            channel=HARBOR,
            reply_to=card3.activity_id,
        )
        assert r.status == 200 and f"merged into #{first}" in card_text(r.card)

        # Mara (Millbrook lead) answers the cluster below Millbrook from her personal chat
        r = await w.teams.say(MARA, "clusters")
        assert r.status == 200
        await w.deliver()
        listing = w.connector.to(MARA.personal_conversation)[-1]
        assert "Similar barriers across the teams below Millbrook" in listing.text()
        button = next(
            a for a in listing.card.get("actions") or [] if a["title"].startswith("Respond to all")
        )
        form = await w.teams.execute(MARA, button)
        assert "Respond to" in card_text(form.card)
        done = await w.teams.execute(
            MARA, action(form.card, "Send to all"), {"in_decision": "resolve", "in_note": ANSWER}
        )
        assert done.status == 200
        await w.deliver()
        for who in (QUINN, ROSA):
            assert any(ANSWER in p.text() for p in w.connector.to(who.personal_conversation)), (
                who.name
            )
