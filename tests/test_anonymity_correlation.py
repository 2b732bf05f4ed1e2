"""Anonymity by correlation (issue 10): no surface may tell an anonymous reporter's own steps
from anyone else's, so comparing surfaces reveals nothing.

Two anonymous barriers at Lincoln, the same in every word and at the same moments:
#1 reported by Alice (Lincoln's lead), #2 by Carol. Alice acknowledges both, asks both
reporters a question (each answers), escalates both to Riverside, Dana resolves both, and
the follow-up question is answered for both in the team channel by Alice (for #1 she is its
reporter; for #2 she answers as the lead). Alice gives kudos about each. Then every surface an
observer can read is collected per item: all Slack messages (real Bolt app, signed requests,
the fake Web API), the dashboard (over HTTP), the CSV and JSON exports, the digests and the
agenda, the audit log. With the item number masked, #1 and #2 must read the same everywhere.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import AuditEvent
from bot.export import export_items, export_rows
from scheduler.jobs import run_job
from tests.fakes.slack_api import FakeSlack, block_text
from tests.slack_harness import BARRIER, Slack, report_barrier, running_slack

TOKEN = "an-admin-token-for-the-correlation-test-0123456789"
LINCOLN, RIVERSIDE = "C0LINCOLN", "C0RIVERSIDE"
ITEM = re.compile(r"#([12])\b")


@pytest.fixture
async def slack(db_url: str, clock: FixedClock) -> AsyncIterator[Slack]:
    fake = await FakeSlack().start()
    try:
        async with running_slack(db_url, clock, fake, admin_token=TOKEN) as running:
            yield running
    finally:
        await fake.stop()


def card(slack: Slack, channel: str, iid: int, title: str = "Barrier") -> dict[str, Any]:
    found = [
        m
        for (ch, _ts), m in slack.fake.messages.items()
        if ch == channel and f"{title} #{iid}" in block_text(m.get("blocks") or [])
    ]
    assert found, f"no message about #{iid} in {channel}"
    return found[-1]


async def press(slack: Slack, user: str, channel: str, message: dict[str, Any], action: str,
                note: str | None = None) -> None:  # fmt: skip
    modals = len(slack.fake.modals)
    status, _ = await slack.user.click(user, channel, message, action)
    assert status == 200
    await slack.settle()
    if note is not None:
        assert len(slack.fake.modals) > modals, f"{action} opened no form"
        status, _ = await slack.user.submit(user, slack.last_view(), {"note": note})
        assert status == 200
    await slack.settle()


async def both(slack: Slack, user: str, channel: str, action: str, note: str | None = None) -> None:
    for iid in (1, 2):
        await press(slack, user, channel, card(slack, channel, iid), action, note)


async def answer(slack: Slack, user: str, text: str) -> None:
    dm = slack.fake.dms[user]
    question = slack.message(dm)
    await slack.user.click(user, dm, question, "answer")
    await slack.settle()
    status, _ = await slack.user.submit(user, slack.last_view(), {"answer": text})
    assert status == 200
    await slack.settle()


def mask(text: str) -> str:
    return ITEM.sub("#N", re.sub(r"(item-|/items/)[12]\b", r"\1N", text))


def without_similar(text: str) -> str:
    """Drop what similar barriers add (issue 16): the second of two alike reports points at the
    first ("Similar: #1" with "Merge into #1" and "Link #1" on its card, and its reporter is
    offered to add a voice to #1). That follows the order of arrival, whoever reported; all
    the rest must read the same."""
    if "Add my voice to #" in text:
        return ""
    out: list[str] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.strip() == "*Similar*":
            next(lines, None)  # and its value, "#1 (Lincoln ...)"
            continue
        if line.startswith(("Merge into #", "Link #")):
            continue
        out.append(line)
    return "\n".join(out)


def per_item(texts: list[str]) -> dict[int, Counter[str]]:
    """What each text says about #1 and #2, item numbers masked. A text about one item counts
    whole; a text about both (a digest) counts line by line."""
    out: dict[int, Counter[str]] = {1: Counter(), 2: Counter()}
    for text in texts:
        ids = set(ITEM.findall(text))
        if len(ids) == 1:
            out[int(ids.pop())][mask(text)] += 1
        elif ids:
            for line in text.splitlines():
                line_ids = set(ITEM.findall(line))
                if len(line_ids) == 1:
                    out[int(line_ids.pop())][mask(line)] += 1
    return out


def article(html: str, iid: int) -> str:
    start = html.index(f'id="item-{iid}"')
    return html[start : html.index("</article>", start)]


async def test_no_surface_tells_the_reporters_steps_from_anyone_elses(
    slack: Slack, clock: FixedClock
) -> None:
    values = {**BARRIER, "anonymous": True}
    assert await report_barrier(slack, values, user="U0ALICE") == 1
    assert await report_barrier(slack, values, user="U0CAROL") == 2
    await slack.settle()
    clock.advance(hours=1)
    await both(slack, "U0ALICE", LINCOLN, "decide:acknowledge")
    clock.advance(hours=1)
    await both(slack, "U0ALICE", LINCOLN, "decide:ask_info", "Which grades?")
    clock.advance(hours=1)
    await answer(slack, "U0ALICE", "Grades 3 to 5")  # Alice answers her own question (#1)
    await answer(slack, "U0CAROL", "Grades 3 to 5")
    clock.advance(hours=1)
    await both(slack, "U0ALICE", LINCOLN, "decide:escalate", "The vendor contract is district's")
    clock.advance(days=1)
    await both(slack, "U0DANA", RIVERSIDE, "decide:resolve", "Coaches get dashboard access")
    for iid in (1, 2):
        status, _ = await slack.user.command(
            "U0ALICE", "/kudos", f"@U0DEV for #{iid}, covering the screener window"
        )
        assert status == 200
    await slack.settle()
    # weeks later the team is asked whether the fix worked; Alice answers for both
    clock.advance(days=35)
    await run_job(slack.server.rt, "follow_up", "lincoln", clock.now())
    await slack.settle()
    for iid in (1, 2):
        follow_up = card(slack, LINCOLN, iid, title="resolved barrier")
        await press(slack, "U0ALICE", LINCOLN, follow_up, "feedback:better")
    for kind, team in (("digest", "lincoln"), ("digest", "riverside"), ("agenda", "lincoln")):
        await run_job(slack.server.rt, kind, team, clock.now())
    await slack.settle()

    # ---- every surface, per item ----------------------------------------------------------
    slack_texts = [
        without_similar(
            block_text(c.args.get("blocks") or []) + "\n" + str(c.args.get("text") or "")
        )
        for c in slack.fake.calls
        if c.method in ("chat.postMessage", "chat.update")
    ]
    assert len(slack_texts) > 20
    seen = per_item(slack_texts)
    assert seen[1] and seen[1] == seen[2], _diff(seen)

    dashboard = await slack.user.client.get(
        "/dashboard", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert dashboard.status == 200
    html = await dashboard.text()
    first, second = mask(article(html, 1)), mask(article(html, 2))
    assert "Alice Reyes" in first and "Anonymous reporter" in first
    assert first == second, _first_difference(first, second)

    async with slack.server.rt.db.transaction() as s:
        rows = {r["id"]: r for r in await export_rows(s)}
        csv_text = await export_items(s, "csv")
        json_text = await export_items(s, "json")
        events = (await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert {k: v for k, v in rows[1].items() if k != "id"} == {
        k: v for k, v in rows[2].items() if k != "id"
    }
    csv_rows = csv_text.splitlines()[1:3]
    assert mask(csv_rows[0].replace("1,", "N,", 1)) == mask(csv_rows[1].replace("2,", "N,", 1))
    assert [r["reporter"] for r in json.loads(json_text)[:2]] == ["", ""]

    def log(iid: int) -> list[tuple[str, str | None, str]]:
        return [(e.action, e.actor_id, e.note) for e in events if e.item_id == iid]

    assert log(1) == log(2)
    assert ("acknowledge", "alice", "") in log(1)  # her decisions are hers, as anyone's
    assert all(actor is None for action, actor, _ in log(1) if action in ("reported", "feedback"))


def _diff(seen: dict[int, Counter[str]]) -> str:
    only1 = seen[1] - seen[2]
    only2 = seen[2] - seen[1]
    return f"only about #1: {list(only1)[:3]}\nonly about #2: {list(only2)[:3]}"


def _first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"...{a[max(0, i - 80) : i + 80]}...\n   vs\n...{b[max(0, i - 80) : i + 80]}..."
    return f"lengths {len(a)} and {len(b)}"


def test_one_rule_for_every_surface() -> None:
    from bot.attribution import Shown, shown, stored_actor

    for action in ("acknowledge", "assign", "escalate", "resolve", "decline", "ask_info", "merge"):
        # a decision is the decider's, whether or not they reported the item
        assert shown(True, action, "alice") is Shown.PERSON
        assert stored_actor(True, action, "alice") == "alice"
    for action in ("reported", "info_provided"):
        assert stored_actor(True, action, "alice") is None
        assert shown(True, action, None) is Shown.REPORTER
        assert shown(False, action, "alice") is Shown.PERSON
    assert stored_actor(True, "feedback", "alice") is None  # reporter or lead: not recorded
    assert shown(True, "feedback", "alice") is Shown.NOBODY
    assert shown(False, "overdue_flagged", None) is Shown.LOOPLINK
    assert shown(True, "overdue_flagged", None) is Shown.LOOPLINK
