"""Revisiting past decisions (issue 15): the agenda lists decisions made N weeks ago or more
(team key `revisit_weeks`), and a lead keeps one or re-opens it."""

from __future__ import annotations

from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import AuditEvent, Item, Team


async def _barrier(chat: LocalChat, summary: str) -> int:
    await chat.submit("carol", "barrier", {"summary": summary})
    async with chat.rt.db.transaction() as s:
        return int((await s.scalars(select(Item.id).order_by(Item.id.desc()))).first() or 0)


async def test_agenda_lists_decisions_to_revisit_and_a_lead_reopens_one(
    chat: LocalChat, clock: FixedClock
) -> None:
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None
        team.extra = {**(team.extra or {}), "revisit_weeks": 6}
    kept = await _barrier(chat, "Coaching logs are on paper")
    opened = await _barrier(chat, "Substitute cover ends at noon")
    for iid, how in ((kept, "resolve"), (opened, "decline")):
        await chat.submit(
            "alice", "decide", {"note": f"{how}d it"}, {"item": str(iid), "decision": how}
        )
    agenda = (await chat.say("alice", "agenda")).replies[0]
    assert "Decisions to revisit" not in agenda.text  # too recent
    clock.advance(weeks=7)
    agenda = (await chat.say("alice", "agenda")).replies[0]
    assert "Decisions to revisit (made 6 weeks ago or more" in agenda.text, agenda.text
    assert f"#{kept} Coaching logs are on paper — resolved" in agenda.text
    assert f"#{opened} Substitute cover ends at noon — declined" in agenda.text
    actions = [(b.action, b.value) for b in agenda.buttons]
    assert ("revisit:reopen", str(opened)) in actions and ("revisit:keep", str(kept)) in actions
    refused = await chat.press("carol", "revisit:reopen", str(opened))
    assert "Only a lead or liaison of Lincoln" in refused.text()
    assert "stands" in (await chat.press("alice", "revisit:keep", str(kept))).text()
    res = await chat.press("alice", "revisit:reopen", str(opened))
    assert f"#{opened} is open again with Lincoln Elementary Implementation Team" in res.text()
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, opened)
        assert item is not None and item.state == "acknowledged" and item.closed_at is None
        ev = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.item_id == opened, AuditEvent.action == "reopened"
                )
            )
        ).one()
        assert ev.actor_id == "alice" and ev.from_state == "declined"
    agenda = (await chat.say("alice", "agenda")).replies[0]
    assert "Decisions to revisit" not in agenda.text  # both handled
