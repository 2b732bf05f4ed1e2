"""The reporter kept in the loop (issue 15): progress updates (muteable), "Got it" counted in
the loop figures, a decline's one response, the fix-worked answer once per round, withdraw and
correct while nobody has acted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import AuditEvent, Item
from bot.messages import Message
from bot.metrics import team_stats
from scheduler.jobs import run_job


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


async def _decide(chat: LocalChat, who: str, iid: int, decision: str, note: str = "") -> str:
    if note:
        res = await chat.submit(
            who, "decide", {"note": note}, {"item": str(iid), "decision": decision}
        )
    else:
        res = await chat.press(who, f"decide:{decision}", str(iid))
    return res.text()


async def _latest_dm(chat: LocalChat, who: str) -> Message:
    return (await chat.dms(who))[-1].message


async def _actions(chat: LocalChat, who: str) -> list[str]:
    return [b.action for b in (await _latest_dm(chat, who)).buttons]


async def test_reporter_hears_acknowledged_and_escalated_with_whom_and_when(
    chat: LocalChat,
) -> None:
    iid = await _report(chat, anonymous="yes")
    before = len(await chat.dms("carol"))
    await _decide(chat, "alice", iid, "acknowledge")
    ack = await _latest_dm(chat, "carol")
    assert len(await chat.dms("carol")) == before + 1
    assert "Lincoln Elementary Implementation Team* has picked up your barrier #" in ack.text
    assert "agreed response date is" in ack.text and "Your name was not passed on" in ack.text
    assert [b.action for b in ack.buttons] == ["updates:off"]
    await _decide(chat, "alice", iid, "escalate", "Substitute cover is a district budget line")
    up = await _latest_dm(chat, "carol")
    item = await _item(chat, iid)
    assert "up to *Riverside District Implementation Team*" in up.text, up.text
    assert "Substitute cover is a district budget line" in up.text
    assert "agreed to respond within 5 working days: by Wed 02 Dec 2026" in up.text, up.text
    assert item.due_at is not None
    # The anonymous reporter's name is nowhere in what the channels saw.
    assert all("Carol" not in r.message.plain() for r in await chat.channel("lincoln"))


async def test_reporter_can_mute_progress_updates_but_still_hears_answers(
    chat: LocalChat,
) -> None:
    iid = await _report(chat)
    await _decide(chat, "alice", iid, "acknowledge")
    mute = (await _latest_dm(chat, "carol")).buttons[0]
    res = await chat.press("carol", mute.action, mute.value)
    assert "Progress updates on your reports are off" in res.text()
    second = await _report(chat)
    n = len(await chat.dms("carol"))
    await _decide(chat, "alice", second, "acknowledge")
    await _decide(chat, "alice", second, "escalate", "District budget")
    assert len(await chat.dms("carol")) == n  # muted: nothing
    await _decide(chat, "dana", second, "ask_info", "Which days?")
    assert "Which days?" in (await _latest_dm(chat, "carol")).text  # questions still come
    assert "are on" in (await chat.command("carol", "updates", "on")).text()
    third = await _report(chat)
    await _decide(chat, "alice", third, "acknowledge")
    assert "has picked up" in (await _latest_dm(chat, "carol")).text


async def test_got_it_is_recorded_replaces_its_buttons_and_counts_as_confirmed(
    chat: LocalChat,
) -> None:
    iid = await _report(chat)
    await _decide(chat, "alice", iid, "resolve", "Coaching moved to Tuesdays")
    answer = await _latest_dm(chat, "carol")
    assert "confirm:got_it" in [b.action for b in answer.buttons]
    assert "confirm:question" in [b.action for b in answer.buttons]
    res = await chat.press("carol", "confirm:got_it", str(iid))
    assert "reached you" in res.text()
    item = await _item(chat, iid)
    assert item.reporter_ack == "got_it" and item.reporter_ack_at is not None
    edited = await _latest_dm(chat, "carol")
    assert "confirm:got_it" not in [b.action for b in edited.buttons]
    assert any(k == "You said" and v.startswith("Got it") for k, v in edited.fields)
    assert "Coaching moved to Tuesdays" in edited.text  # the same message, edited in place
    async with chat.rt.db.transaction() as s:
        stats = await team_stats(s, chat.rt.clock.now(), team_ids=["lincoln"])
        actions = (
            await s.scalars(select(AuditEvent.action).where(AuditEvent.item_id == iid))
        ).all()
    assert stats["lincoln"].closed_loops == 1 and stats["lincoln"].confirmed_loops == 1
    assert "confirmed" in actions
    assert (
        "Only the person who reported"
        in (await chat.press("alice", "confirm:got_it", str(iid))).text()
    )


async def test_decline_carries_the_reason_and_the_reporter_may_respond_once(
    chat: LocalChat,
) -> None:
    iid = await _report(chat, anonymous="yes")
    await _decide(chat, "alice", iid, "decline", "Coaching schedules are set by the coach")
    answer = await _latest_dm(chat, "carol")
    assert "Coaching schedules are set by the coach" in answer.text
    respond = next(b for b in answer.buttons if b.action == "confirm:question")
    assert respond.label == "Respond to this decision"
    opened = await chat.press("carol", respond.action, respond.value)
    assert opened.form is not None and opened.form.form_id == "reporter_question"
    await chat.submit(
        "carol", "reporter_question", {"text": "The coach cancels weekly"}, opened.form.context
    )
    posted = (await chat.channel("lincoln"))[-1].message.text
    assert "The reporter (anonymous) responds to your decision not to act" in posted
    assert "The coach cancels weekly" in posted and "Carol" not in posted
    again = await chat.submit("carol", "reporter_question", {"text": "Again"}, opened.form.context)
    assert "already sent your response" in again.text()
    assert (
        "already sent your response"
        in (await chat.press("carol", respond.action, respond.value)).text()
    )
    assert "confirm:question" not in await _actions(chat, "carol")
    async with chat.rt.db.transaction() as s:
        ev = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.item_id == iid, AuditEvent.action == "reporter_responded"
                )
            )
        ).one()
    assert ev.actor_id is None and ev.note == "The coach cancels weekly"


async def test_fix_worked_is_one_answer_per_round_with_change_my_answer(chat: LocalChat) -> None:
    iid = await _report(chat)
    await _decide(chat, "alice", iid, "resolve", "Coaching moved to Tuesdays")
    assert "feedback:better" in await _actions(chat, "carol")
    res = await chat.press("carol", "feedback:better", str(iid))
    assert "recorded that the fix made things better" in res.text()
    edited = await _latest_dm(chat, "carol")
    assert not any(b.action.startswith("feedback:") for b in edited.buttons)
    assert "feedback_change" in [b.action for b in edited.buttons]
    assert any(v.startswith("*Better, not yet at goal*") for _, v in edited.fields)
    again = await chat.press("carol", "feedback:goal_met", str(iid))
    assert "You already answered for #" in again.text() and "Change my answer" in again.text()
    assert (await _item(chat, iid)).outcome == "better"
    await chat.press("carol", "feedback_change", str(iid))
    assert (await _item(chat, iid)).outcome is None
    back = await _latest_dm(chat, "carol")
    assert "feedback:goal_met" in [b.action for b in back.buttons]
    assert not any(k == "Did the fix work?" for k, _ in back.fields)
    await chat.press("carol", "feedback:goal_met", str(iid))
    assert (await _item(chat, iid)).outcome == "goal_met"


async def test_worse_reopens_the_item_with_its_team_audited(chat: LocalChat) -> None:
    iid = await _report(chat)
    await _decide(chat, "alice", iid, "escalate", "District budget")
    await _decide(chat, "dana", iid, "resolve", "Budget for substitutes approved")
    await chat.press("carol", "feedback:worse", str(iid))
    item = await _item(chat, iid)
    assert item.state == "acknowledged" and item.holding_team_id == "riverside"
    assert item.closed_at is None and item.outcome == "worse" and item.due_at is not None
    edited = await _latest_dm(chat, "carol")
    assert any("open again with Riverside District" in v for _, v in edited.fields), edited.fields
    assert "feedback_change" not in [b.action for b in edited.buttons]
    async with chat.rt.db.transaction() as s:
        ev = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.item_id == iid, AuditEvent.action == "reopened")
            )
        ).one()
    assert ev.from_state == "resolved" and ev.to_state == "acknowledged" and ev.note == "worse"
    cards = [r.message for r in await chat.channel("riverside") if r.message.buttons]
    assert any("decide:resolve" in [b.action for b in c.buttons] for c in cards)
    # A new round: resolved again, the reporter may answer again.
    await _decide(chat, "dana", iid, "resolve", "Substitute pool doubled")
    assert (await _item(chat, iid)).outcome is None
    await chat.press("carol", "feedback:goal_met", str(iid))
    assert (await _item(chat, iid)).outcome == "goal_met"


async def test_followup_question_is_answered_in_place(chat: LocalChat, clock: FixedClock) -> None:
    """An anonymous report's follow-up goes to the team; the lead's answer replaces its
    buttons in the channel, and the reporter's own copy of the answer too."""
    iid = await _report(chat, anonymous="yes")
    await _decide(chat, "alice", iid, "resolve", "Coaching moved to Tuesdays")
    at = datetime(2026, 12, 21, 15, 30, tzinfo=UTC)  # four weeks on, 09:30 in Chicago
    clock.set(at)
    assert await run_job(chat.rt, "follow_up", "lincoln", at) == 1
    await chat.rt.dispatcher.run_once()
    asked = (await chat.channel("lincoln"))[-1]
    assert "feedback:goal_met" in [b.action for b in asked.message.buttons]
    await chat.press("alice", "feedback:goal_met", str(iid))
    edited = next(r for r in await chat.channel("lincoln") if r.id == asked.id)
    assert not any(b.action.startswith("feedback:") for b in edited.message.buttons)
    assert any(v.startswith("*Goal met*") for _, v in edited.message.fields)
    mine = await _latest_dm(chat, "carol")
    assert not any(b.action.startswith("feedback:") for b in mine.buttons)


async def test_withdraw_and_correct_only_while_nobody_has_acted(chat: LocalChat) -> None:
    iid = await _report(chat)
    opened = await chat.press("carol", "correct", str(iid))
    assert opened.form is not None and opened.form.form_id == "correct"
    assert opened.form.fields[0].initial == "Coaching sessions keep getting cancelled"
    await chat.submit(
        "carol",
        "correct",
        {
            "summary": "Coaching sessions are cancelled every week",
            "locus": "outside",
            "evidence": "Cancelled 6 of 8 weeks",
        },
        opened.form.context,
    )
    item = await _item(chat, iid)
    assert item.summary == "Coaching sessions are cancelled every week"
    assert item.locus == "outside" and item.evidence == "Cancelled 6 of 8 weeks"
    card = (await chat.channel("lincoln"))[-1].message
    assert "Coaching sessions are cancelled every week" in card.plain()
    assert (
        "Only the person who reported" in (await chat.press("alice", "withdraw", str(iid))).text()
    )
    res = await chat.press("carol", "withdraw", str(iid))
    assert "Withdrawn" in res.text()
    item = await _item(chat, iid)
    assert item.state == "withdrawn"
    card = (await chat.channel("lincoln"))[-1].message
    assert "Withdrawn by" in card.plain() and not card.buttons
    other = await _report(chat)
    await _decide(chat, "alice", other, "acknowledge")
    late = await chat.command("carol", "withdraw", f"#{other}")
    assert "has already acted on" in late.text()
    assert (await _item(chat, other)).state == "acknowledged"
    assert "has already acted on" in (await chat.press("carol", "correct", str(other))).text()
