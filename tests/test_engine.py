"""The loop engine's rules: authorisation, decisions, the reporter's side, recognition."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.local import LocalChat
from bot.calendar import WorkCalendar
from bot.clock import FixedClock
from bot.db.models import AuditEvent, Item, Kudos, Outbox
from bot.domain import MAX_TEXT

CHICAGO = ZoneInfo("America/Chicago")


async def _report(chat: LocalChat, who: str = "carol", **extra: str) -> int:
    res = await chat.submit(
        who, "barrier", {"summary": "Coaching sessions keep getting cancelled", **extra}
    )
    assert "Thanks" in res.text(), res.text()
    async with chat.rt.db.transaction() as s:
        return int((await s.scalars(select(Item.id).order_by(Item.id.desc()))).first() or 0)


async def _item(chat: LocalChat, iid: int) -> Item:
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None
        return item


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        ("alice", True),  # Lincoln lead
        ("bob", True),  # Lincoln liaison
        ("dana", True),  # Riverside lead: a lead above
        ("grace", True),  # State lead: a lead further above
        ("carol", False),  # a member
        ("dev", False),  # Lincoln coach
        ("hana", False),  # Washington lead: a sibling team
        ("eli", False),  # Riverside data lead: above, but not a lead
        ("mara", False),  # Millbrook lead: another branch
    ],
)
async def test_who_may_decide(chat: LocalChat, actor: str, allowed: bool) -> None:
    iid = await _report(chat)
    res = await chat.press(actor, "decide:acknowledge", str(iid))
    item = await _item(chat, iid)
    if allowed:
        assert item.state == "acknowledged", res.text()
    else:
        assert item.state == "new"
        assert "Only the lead or liaison of Lincoln Elementary Implementation Team" in res.text()


async def test_unauthorised_form_submission_changes_nothing(chat: LocalChat) -> None:
    iid = await _report(chat)
    res = await chat.submit(
        "carol", "decide", {"note": "I resolve my own"}, {"item": str(iid), "decision": "resolve"}
    )
    assert "Only the lead or liaison" in res.text()
    assert (await _item(chat, iid)).state == "new"


async def test_top_team_cannot_escalate(chat: LocalChat) -> None:
    iid = await _report(chat)
    for actor in ("alice", "dana"):
        await chat.submit(
            actor, "decide", {"note": "up"}, {"item": str(iid), "decision": "escalate"}
        )
    res = await chat.submit(
        "grace", "decide", {"note": "up"}, {"item": str(iid), "decision": "escalate"}
    )
    assert "is the top team" in res.text()
    assert (await _item(chat, iid)).holding_team_id == "state"


async def test_note_required_for_decisions(chat: LocalChat) -> None:
    iid = await _report(chat)
    res = await chat.submit(
        "alice", "decide", {"note": "  "}, {"item": str(iid), "decision": "decline"}
    )
    assert res.errors == {"note": "Please add a note: rationale for declining."}
    assert (await _item(chat, iid)).state == "new"


async def test_decline_relays_the_reason_down(chat: LocalChat) -> None:
    iid = await _report(chat)
    await chat.submit(
        "alice",
        "decide",
        {"note": "Outside the program's scope"},
        {"item": str(iid), "decision": "decline"},
    )
    item = await _item(chat, iid)
    assert item.state == "declined" and item.response == "Outside the program's scope"
    dm = [r.message.text for r in await chat.dms("carol")]
    assert any("decided not to act" in t and "Outside the program's scope" in t for t in dm)
    res = await chat.press("alice", "decide:resolve", str(iid))
    assert "already decided by Alice Reyes: declined" in res.text()


async def test_ask_reporter_anonymously_and_answer(chat: LocalChat) -> None:
    iid = await _report(chat, anonymous="yes")
    await chat.submit(
        "alice",
        "decide",
        {"note": "Which grade levels?"},
        {"item": str(iid), "decision": "ask_info"},
    )
    assert (await _item(chat, iid)).state == "needs_info"
    dm = (await chat.dms("carol"))[-1].message
    assert "Which grade levels?" in dm.text and "without your name" in dm.text
    opened = await chat.press("carol", dm.buttons[0].action, dm.buttons[0].value)
    assert opened.form is not None and opened.form.form_id == "answer"
    assert "Only the person who reported" in (await chat.press("alice", "answer", str(iid))).text()
    await chat.submit("carol", "answer", {"answer": "Grades 3 to 5"}, opened.form.context)
    item = await _item(chat, iid)
    assert item.state == "new"  # back to where it was before the question
    posted = (await chat.channel("lincoln"))[-2:]
    assert any("answered:\nGrades 3 to 5" in r.message.text for r in posted)
    assert all("Carol" not in r.message.plain() for r in await chat.channel("lincoln"))


async def test_merge_into_duplicate(chat: LocalChat) -> None:
    first = await _report(chat)
    second = await _report(chat, "dev")
    opened = await chat.press("alice", "decide:merge", str(second))
    assert opened.form is not None
    await chat.submit(
        "alice",
        "decide",
        {"merge_into": str(first), "note": ""},
        {"item": str(second), "decision": "merge"},
    )
    item = await _item(chat, second)
    assert item.state == "merged" and item.merged_into_id == first
    assert any(f"into #{first}" in r.message.text for r in await chat.dms("dev"))
    res = await chat.submit(
        "alice", "decide", {"merge_into": str(first)}, {"item": str(first), "decision": "merge"}
    )
    assert "cannot be merged into itself" in res.text()


async def test_assign_owner(chat: LocalChat) -> None:
    iid = await _report(chat)
    await chat.submit(
        "alice", "decide", {"owner": "@dev"}, {"item": str(iid), "decision": "assign"}
    )
    item = await _item(chat, iid)
    assert item.owner_id == "dev" and item.state == "acknowledged"
    assert any("made you the owner" in r.message.text for r in await chat.dms("dev"))


async def test_feedback_only_from_reporter_after_resolution(chat: LocalChat) -> None:
    iid = await _report(chat)
    assert (
        "has not been resolved" in (await chat.press("carol", "feedback:better", str(iid))).text()
    )
    await chat.submit(
        "alice", "decide", {"note": "Fixed the schedule"}, {"item": str(iid), "decision": "resolve"}
    )
    assert "Only the reporter" in (await chat.press("dev", "feedback:better", str(iid))).text()
    await chat.press("carol", "feedback:goal_met", str(iid))
    assert (await _item(chat, iid)).outcome == "goal_met"


async def test_small_team_warns_about_anonymity(chat: LocalChat) -> None:
    opened = await chat.command("tess", "barrier")  # Harbor has 3 members
    assert opened.form is not None
    anon = next(f for f in opened.form.fields if f.name == "anonymous")
    assert "fewer than 5" in anon.hint
    res = await chat.submit(
        "tess", "barrier", {"summary": "No interpreter for family meetings", "anonymous": "yes"}
    )
    assert "fewer than 5 members" in res.text()
    res = await chat.submit(
        "carol", "barrier", {"summary": "x", "anonymous": "yes"}
    )  # Lincoln has 6
    assert "fewer than" not in res.text()


async def test_person_without_team_and_unknown_person(chat: LocalChat) -> None:
    res = await chat.say("nobody", "hello")
    assert "I don't know you yet" in res.text()


async def test_kudos_to_person_and_team(chat: LocalChat) -> None:
    res = await chat.say("carol", "kudos @dev for modelling the new phonics routine in my room")
    assert "Recognition sent" in res.text()
    assert any(
        "Carol Jensen recognises *Dev Patel*" in r.message.text for r in await chat.dms("dev")
    )
    assert any("recognises *Dev Patel*" in r.message.text for r in await chat.channel("lincoln"))
    await chat.say("dana", "kudos #lincoln for closing 5 barriers this month")
    assert any(
        "recognises *Lincoln Elementary" in r.message.text for r in await chat.channel("lincoln")
    )
    assert "could not find" in (await chat.say("carol", "kudos @zed for things")).text()
    assert "for someone else" in (await chat.say("carol", "kudos @carol for me")).text()
    async with chat.rt.db.transaction() as s:
        assert len((await s.scalars(select(Kudos))).all()) == 2


async def test_oversized_and_unknown_input_is_refused_politely(chat: LocalChat) -> None:
    res = await chat.submit("carol", "barrier", {"summary": "x" * (MAX_TEXT + 1)})
    assert "too long" in " ".join(res.errors.values())
    assert "too long" in (await chat.say("carol", "y" * (MAX_TEXT * 2 + 1))).text()
    assert (
        'I don\'t know "frobnicate"'
        in (await chat.command("carol", "looplink", "frobnicate")).text()
    )
    assert "not something I know" in (await chat.press("carol", "nonsense:thing", "1")).text()
    assert "not something I know" in (await chat.submit("carol", "nope", {})).text()
    assert (
        "There is no item #999" in (await chat.press("alice", "decide:acknowledge", "999")).text()
    )
    assert (
        "not a known implementation driver"
        in (await chat.submit("carol", "barrier", {"summary": "s", "driver": "vibes"})).text()
    )
    async with chat.rt.db.transaction() as s:
        assert (await s.scalars(select(Item))).all() == []  # nothing half-written


async def test_duplicate_delivery_is_handled_once(chat: LocalChat) -> None:
    from flows.events import Inbound
    from flows.router import handle

    ev = Inbound(
        "local",
        "carol",
        "submit",
        form_id="barrier",
        values={"summary": "Bus late"},
        delivery_id="evt-1",
    )
    first = await handle(chat.rt, ev)
    again = await handle(chat.rt, ev)
    assert not first.duplicate and again.duplicate
    async with chat.rt.db.transaction() as s:
        assert len((await s.scalars(select(Item))).all()) == 1
        assert len((await s.scalars(select(AuditEvent))).all()) == 1


async def test_status_queue_for_leads(chat: LocalChat, clock: FixedClock) -> None:
    iid = await _report(chat)
    assert "for team leads" in (await chat.command("carol", "looplink", "status")).text()
    clock.advance(days=10)
    text = (await chat.command("alice", "looplink", "status")).text()
    assert f"#{iid}" in text and "Overdue" in text
    mine = (await chat.say("carol", "mine")).text()
    assert f"#{iid} Coaching sessions" in mine and "with Lincoln Elementary" in mine


def test_due_dates_skip_weekends_and_holidays() -> None:
    cal = WorkCalendar(True, frozenset({date(2026, 11, 26), date(2026, 11, 27)}))
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 09:00 Chicago
    assert cal.due_date(friday, 2, "America/Chicago").date() == date(2026, 11, 24)  # Tue
    tuesday = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert cal.due_date(tuesday, 3, "America/Chicago").date() == date(
        2026, 12, 1
    )  # skips Thanksgiving
    assert WorkCalendar(False).due_date(friday, 2, "America/Chicago").date() == date(2026, 11, 22)
    assert cal.working_days_between(friday, tuesday, "America/Chicago") == 2


async def test_escalation_due_date_uses_receiving_team(chat: LocalChat) -> None:
    iid = await _report(chat)  # Monday 23 Nov 2026
    item = await _item(chat, iid)
    assert item.due_at is not None and item.due_at.astimezone(CHICAGO).date() == date(
        2026, 11, 30
    )  # 3 days, Thanksgiving paused
    await chat.submit("alice", "decide", {"note": "up"}, {"item": str(iid), "decision": "escalate"})
    item = await _item(chat, iid)
    # Riverside: 5 working days, Thu+Fri are holidays -> Tue 24, Wed 25, Mon 30, Tue 1, Wed 2
    assert item.due_at is not None and item.due_at.astimezone(CHICAGO).date() == date(2026, 12, 2)


async def test_every_message_goes_through_the_outbox(chat: LocalChat) -> None:
    await _report(chat)
    async with chat.rt.db.transaction() as s:
        rows = (await s.scalars(select(Outbox))).all()
    assert rows and all(r.status == "sent" for r in rows)


async def test_a_change_on_an_item_without_a_claim_is_refused(chat: LocalChat) -> None:
    """Every change on an item goes through bot.claims.claim: a code path that forgets it
    cannot flush (the guard), so it cannot race another decision unnoticed."""
    from bot.claims import Unclaimed, claim
    from bot.engine import Loop

    iid = await _report(chat)
    with pytest.raises(Unclaimed, match=f"item #{iid} changed \\(state\\)"):
        async with chat.rt.db.transaction() as s:
            Loop(s, chat.rt.clock, chat.rt.fanout)
            item = await s.get(Item, iid)
            assert item is not None
            item.state = "resolved"
            await s.flush()
    async with chat.rt.db.transaction() as s:
        Loop(s, chat.rt.clock, chat.rt.fanout)
        item = await s.get(Item, iid)
        assert item is not None and item.version == 0
        await claim(s, item)
        item.state = "acknowledged"
        await s.flush()
    assert (await _item(chat, iid)).version == 1
