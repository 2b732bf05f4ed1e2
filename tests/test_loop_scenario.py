"""The whole loop through the local adapter: building -> district -> state and back down."""

from __future__ import annotations

import json

from sqlalchemy import select

from adapters.local import LocalChat
from bot.db.models import AuditEvent, Hop, Item
from bot.export import export_items

BARRIER = {
    "summary": "The reading screener data arrives three weeks after testing",
    "details": "Every benchmark window; all grades",
    "affected": "students,staff",
    "subgroup": "English learners",
    "driver": "data_systems",
    "stage": "initial_implementation",
    "tried": "Asked the office to export earlier",
    "suggestion": "Give coaches direct access to the vendor dashboard",
    "urgency": "high",
}


async def _card_buttons(chat: LocalChat, team: str, item_id: int) -> list[str]:
    cards = [
        r for r in await chat.channel(team) if r.message.title.startswith(f"Barrier #{item_id}")
    ]
    assert cards, f"no card for #{item_id} in {team}"
    return [b.action for b in cards[-1].message.buttons]


async def run_loop(chat: LocalChat, anonymous: bool) -> int:
    # carol (a Lincoln member) reports through the one-shot form
    opened = await chat.command("carol", "barrier", "screener data late")
    assert opened.form is not None and opened.form.form_id == "barrier"
    assert opened.form.fields[0].initial == "screener data late"
    result = await chat.submit(
        "carol", "barrier", {**BARRIER, "anonymous": "yes" if anonymous else ""}
    )
    assert "is with *Lincoln Elementary Implementation Team*" in result.text()
    async with chat.rt.db.transaction() as s:
        item = (await s.scalars(select(Item))).one()
    iid = item.id
    assert item.state == "new" and item.holding_team_id == "lincoln"

    # the card in Lincoln's channel carries the decision buttons
    assert "decide:escalate" in await _card_buttons(chat, "lincoln", iid)

    # alice (Lincoln lead) escalates: the button opens a note form first
    pressed = await chat.press("alice", "decide:escalate", str(iid))
    assert pressed.form is not None and pressed.form.context == {
        "item": str(iid),
        "decision": "escalate",
        "team": "lincoln",  # where the item was when the form opened, and its version
        "version": "0",
    }
    done = await chat.submit(
        "alice", "decide", {"note": "Vendor contract is held by the district"}, pressed.form.context
    )
    assert "escalated" in done.text()
    assert "decide:escalate" in await _card_buttons(chat, "riverside", iid)
    assert await _card_buttons(chat, "lincoln", iid) == []  # updated in place: no longer ours

    # dana (Riverside lead) escalates to the state team
    await chat.submit(
        "dana",
        "decide",
        {"note": "The statewide data system contract is a state decision"},
        {"item": str(iid), "decision": "escalate"},
    )
    assert "decide:resolve" in await _card_buttons(chat, "state", iid)

    # grace (State lead) resolves
    await chat.submit(
        "grace",
        "decide",
        {"note": "Coaches get read access to the dashboard from 1 December."},
        {"item": str(iid), "decision": "resolve"},
    )
    return iid


async def _assert_closed_loop(chat: LocalChat, iid: int) -> None:
    resolution = "Coaches get read access to the dashboard from 1 December."
    for team in ("riverside", "lincoln"):
        texts = [r.message.plain() for r in await chat.channel(team)]
        assert any(resolution in t and "resolved" in t for t in texts), team
    dm = [r.message for r in await chat.dms("carol")]
    assert any(resolution in m.text for m in dm)
    assert any(b.action == "feedback:goal_met" for m in dm for b in m.buttons)

    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None and item.state == "resolved" and item.closed_by_team_id == "state"
        assert item.reporter_told_at is not None
        hops = (await s.scalars(select(Hop).where(Hop.item_id == iid).order_by(Hop.seq))).all()
        assert [h.team_id for h in hops] == ["lincoln", "riverside", "state"]
        assert all(h.told_at is not None for h in hops)
        assert hops[0].escalation_note == "Vendor contract is held by the district"
        assert hops[1].due_at is not None and hops[2].due_at is not None
        events = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.item_id == iid).order_by(AuditEvent.id)
            )
        ).all()
    steps = [(e.action, e.from_state, e.to_state, e.team_id) for e in events]
    assert steps == [
        ("reported", None, "new", "lincoln"),
        ("escalate", "new", "escalated", "lincoln"),
        ("escalate", "escalated", "escalated", "riverside"),
        ("resolve", "escalated", "resolved", "state"),
    ]
    assert [e.actor_id for e in events[1:]] == ["alice", "dana", "grace"]


async def test_full_loop_building_to_state_and_back(chat: LocalChat) -> None:
    iid = await run_loop(chat, anonymous=False)
    await _assert_closed_loop(chat, iid)
    async with chat.rt.db.transaction() as s:
        first = (await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).first()
    assert first is not None and first.actor_id == "carol"
    card = (await chat.channel("lincoln"))[0].message
    assert ("Reported by", "Carol Jensen") in card.fields

    # the reporter says whether the fix worked; every team on the path hears it
    await chat.press("carol", "feedback:better", str(iid))
    assert any(
        "*the fix made things better, though not yet at the goal*" in r.message.text
        for r in await chat.channel("state")
    )


async def test_anonymous_loop_never_reveals_the_reporter(chat: LocalChat) -> None:
    iid = await run_loop(chat, anonymous=True)
    await _assert_closed_loop(chat, iid)
    secrets = ["carol", "Carol", "Jensen", "carol.jensen@riverside.example", "U0CAROL"]

    async with chat.rt.db.transaction() as s:
        from bot.db.models import LocalMessage, Outbox

        outgoing = [json.dumps(o.payload) for o in (await s.scalars(select(Outbox))).all()]
        local = [json.dumps(m.payload) for m in (await s.scalars(select(LocalMessage))).all()]
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.item_id == iid))).all()
    # carol's own DMs go to her, so they are addressed to her, but their *content* never names her
    for blob in outgoing + local:
        for secret in secrets:
            assert secret not in blob, (secret, blob[:200])
    assert all(e.actor_id != "carol" for e in events)
    for fmt in ("csv", "json"):
        async with chat.rt.db.transaction() as s:
            exported = await export_items(s, fmt)
        for secret in secrets:
            assert secret not in exported
    card = (await chat.channel("lincoln"))[0].message
    assert ("Reported by", "Anonymous") in card.fields
