"""Decisions on one item at the same moment, over real parallel signed Slack requests.

Two leads (or one lead clicking twice) open decision forms on the same card and submit them
at once (`asyncio.gather` into the real Bolt app; on PostgreSQL the transactions really run
side by side). Exactly one decision applies; every other attempt is told politely who decided
first; the reporter hears exactly one answer; an escalation moves one level only.
Each test prints its figures (N parallel attempts, how many applied) for the closing note.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import AuditEvent, Hop, Item
from bot.domain import Decision
from tests.fakes.slack_api import FakeSlack, block_text
from tests.slack_harness import BARRIER, Slack, report_barrier, running_slack

DECISIONS = {d.value for d in Decision}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


def figures(name: str, attempts: int, applied: int) -> None:
    print(f"\nRACE {name}: {attempts} parallel attempts, {applied} applied")


async def open_form(slack: Slack, user: str, channel: str, action: str) -> dict[str, Any]:
    """`user` presses `action` on the card in `channel`; the decision modal Slack opened."""
    card = next(
        m
        for (ch, _ts), m in slack.fake.messages.items()
        if ch == channel and "decide:" in json.dumps(m)
    )
    opened = len(slack.fake.modals)
    status, body = await slack.user.click(user, channel, card, action)
    assert (status, body) == (200, ""), body
    await slack.platform.idle()
    assert len(slack.fake.modals) == opened + 1, slack.fake.methods()
    return slack.last_view()


async def submit_all(slack: Slack, forms: list[tuple[str, dict[str, Any], str]]) -> list[str]:
    """Submit every (user, modal, note) at the same moment; what each modal then said."""
    answers = await asyncio.gather(
        *(slack.user.submit(user, view, {"note": note}) for user, view, note in forms)
    )
    said = []
    for status, body in answers:
        assert status == 200, body
        answer = json.loads(body)
        assert answer["response_action"] == "update", answer
        said.append(block_text(answer["view"]["blocks"]))
    return said


async def decisions(slack: Slack, item_id: int) -> list[AuditEvent]:
    async with slack.server.rt.db.transaction() as s:
        q = select(AuditEvent).where(AuditEvent.item_id == item_id).order_by(AuditEvent.id)
        return [e for e in (await s.scalars(q)).all() if e.action in DECISIONS]


async def hops(slack: Slack, item_id: int) -> list[str]:
    async with slack.server.rt.db.transaction() as s:
        q = select(Hop.team_id).where(Hop.item_id == item_id).order_by(Hop.seq)
        return list((await s.scalars(q)).all())


async def state(slack: Slack, item_id: int) -> str:
    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, item_id)
        assert item is not None
        return item.state


async def reporter_answers(slack: Slack) -> list[str]:
    """The answers relayed to Carol (the reporter) by DM."""
    await slack.settle()
    dm = slack.fake._dm("U0CAROL")
    said = [block_text(c.args["blocks"]) for c in slack.fake.to("chat.postMessage", channel=dm)]
    return [t for t in said if " resolved " in t or "decided not to act" in t]


async def reported(slack: Slack) -> int:
    iid = await report_barrier(slack, BARRIER)
    await slack.settle()
    return iid


async def test_resolve_and_decline_at_once_one_wins(slack: Slack) -> None:
    iid = await reported(slack)
    alice = await open_form(slack, "U0ALICE", "C0LINCOLN", "decide:resolve")
    bob = await open_form(slack, "U0BOB", "C0LINCOLN", "decide:decline")
    said = await submit_all(
        slack,
        [("U0ALICE", alice, "Fixed at school level"), ("U0BOB", bob, "Out of our hands")],
    )
    applied = await decisions(slack, iid)
    figures("resolve vs decline", 2, len(applied))
    assert len(applied) == 1, [e.action for e in applied]
    winner = applied[0]
    assert await state(slack, iid) == ("resolved" if winner.action == "resolve" else "declined")
    loser = said[1] if winner.actor_id == "alice" else said[0]
    name = "Alice Reyes" if winner.actor_id == "alice" else "Bob Tanaka"
    assert f"already decided by {name}" in loser, said
    assert len(await reporter_answers(slack)) == 1


async def test_resolve_and_escalate_at_once_one_wins(slack: Slack) -> None:
    iid = await reported(slack)
    alice = await open_form(slack, "U0ALICE", "C0LINCOLN", "decide:resolve")
    bob = await open_form(slack, "U0BOB", "C0LINCOLN", "decide:escalate")
    said = await submit_all(
        slack, [("U0ALICE", alice, "Fixed here"), ("U0BOB", bob, "District contract")]
    )
    applied = await decisions(slack, iid)
    figures("resolve vs escalate", 2, len(applied))
    assert len(applied) == 1, [e.action for e in applied]
    answers = await reporter_answers(slack)
    if applied[0].action == "resolve":
        assert await state(slack, iid) == "resolved"
        assert await hops(slack, iid) == ["lincoln"]
        assert len(answers) == 1
        assert "already decided by Alice Reyes" in said[1], said
    else:
        assert await state(slack, iid) == "escalated"
        assert await hops(slack, iid) == ["lincoln", "riverside"]
        assert answers == []  # never told it was resolved
        assert "already decided by Bob Tanaka" in said[0], said


async def test_escalate_twice_at_once_moves_one_level(slack: Slack) -> None:
    iid = await reported(slack)
    alice = await open_form(slack, "U0ALICE", "C0LINCOLN", "decide:escalate")
    bob = await open_form(slack, "U0BOB", "C0LINCOLN", "decide:escalate")
    said = await submit_all(
        slack, [("U0ALICE", alice, "District contract"), ("U0BOB", bob, "Needs the district")]
    )
    applied = await decisions(slack, iid)
    figures("escalate twice", 2, len(applied))
    assert len(applied) == 1
    assert await hops(slack, iid) == ["lincoln", "riverside"]
    assert sum(t.startswith(f"#{iid} escalated to the team above") for t in said) == 1, said
    assert sum("already decided by" in t for t in said) == 1, said


N = 16


async def test_many_identical_resolves_at_once_apply_once(slack: Slack) -> None:
    iid = await reported(slack)
    forms = [
        ("U0ALICE", await open_form(slack, "U0ALICE", "C0LINCOLN", "decide:resolve"), "Done")
        for _ in range(N)
    ]
    said = await submit_all(slack, forms)
    applied = await decisions(slack, iid)
    figures(f"{N} identical resolves", N, len(applied))
    assert len(applied) == 1
    assert sum(f"#{iid} resolved" in t for t in said) == 1, said
    assert sum("already decided by Alice Reyes" in t for t in said) == N - 1, said
    assert len(await reporter_answers(slack)) == 1


async def test_many_acknowledge_clicks_at_once_apply_once(slack: Slack) -> None:
    """A button that decides without a form carries no version: clicked 8 times at once, it
    still applies once (the claim, then: an acknowledged item is not acknowledged again)."""
    iid = await reported(slack)
    card = next(
        m
        for (ch, _ts), m in slack.fake.messages.items()
        if ch == "C0LINCOLN" and "decide:acknowledge" in json.dumps(m)
    )
    clicks = await asyncio.gather(
        *(slack.user.click("U0ALICE", "C0LINCOLN", card, "decide:acknowledge") for _ in range(8))
    )
    assert [status for status, _ in clicks] == [200] * 8
    applied = await decisions(slack, iid)
    figures("8 acknowledge clicks", 8, len(applied))
    assert [e.action for e in applied] == ["acknowledge"]
    assert await state(slack, iid) == "acknowledged"


async def test_cluster_response_and_a_decision_at_once_decide_each_item_once(
    chat: LocalChat,
) -> None:
    """Alice answers a cluster of two reports while Bob declines one of them, at the same
    moment (two transactions side by side on PostgreSQL): each item is decided once, and each
    reporter hears one answer."""
    first = await chat.submit("carol", "barrier", {"summary": "The bus schedule cuts coaching"})
    second = await chat.submit("dev", "barrier", {"summary": "Buses leave before coaching ends"})
    assert "Thanks" in first.text() and "Thanks" in second.text()
    cluster, single = await asyncio.gather(
        chat.submit(
            "alice",
            "cluster_respond",
            {"note": "New bus times", "decision": "resolve"},
            {"items": "1,2"},
        ),
        chat.submit("bob", "decide", {"note": "Not ours"}, {"item": "1", "decision": "decline"}),
    )
    async with chat.rt.db.transaction() as s:
        events = (await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        items = {i.id: i for i in (await s.scalars(select(Item))).all()}
    per_item = {
        iid: [e.action for e in events if e.item_id == iid and e.action in DECISIONS]
        for iid in (1, 2)
    }
    figures("cluster response vs decline", 2, len(per_item[1]))
    assert len(per_item[1]) == 1 and per_item[2] == ["resolve"], per_item
    assert items[2].state == "resolved"
    if per_item[1] == ["decline"]:  # Bob first: the cluster response skips #1, says so
        assert items[1].state == "declined"
        assert "#2" in cluster.text()
    else:
        assert items[1].state == "resolved"
        assert "already decided by Alice Reyes" in single.text(), single.text()
    for reporter in ("carol", "dev"):
        said = [r.message.text for r in await chat.dms(reporter)]
        answers = [t for t in said if " resolved " in t or "decided not to act" in t]
        assert len(answers) == 1, (reporter, said)
