"""Each scheduled message's content, built from the demo org with activity made in chat."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Team
from scheduler.jobs import run_job
from tests.sched_seed import decide, seed_activity

# Lincoln meets Tuesdays 15:00 Chicago; its agenda goes out two hours before.
AGENDA_DEC_1 = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 13:00 CST
AGENDA_DEC_8 = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)
DIGEST_NOV_30 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 08:00 CST


async def run(chat: LocalChat, kind: str, team: str, fire: datetime) -> int:
    """Run a job for its scheduled fire time and deliver what it enqueued."""
    n = await run_job(chat.rt, kind, team, fire)
    await chat.rt.dispatcher.run_once()
    return n


def line_with(text: str, needle: str) -> str:
    lines = [ln for ln in text.splitlines() if needle in ln]
    assert lines, f"no line with {needle!r} in:\n{text}"
    return lines[0]


async def test_agenda_has_every_section_from_live_data(chat: LocalChat, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 24, 22, 0, tzinfo=UTC))  # Tuesday, after Lincoln's meeting
    await seed_activity(chat, clock)
    added = await chat.say("carol", "agenda add Plan the family literacy night")
    assert "A1" in added.text() and "Tue 01 Dec 2026 15:00" in added.text()
    await chat.say("alice", "agenda action @femi send the meeting notes by Friday")
    clock.set(AGENDA_DEC_1)
    assert await run(chat, "agenda", "lincoln", AGENDA_DEC_1) == 1
    posted = (await chat.channel("lincoln"))[-1].message
    assert posted.title == (
        "Standing agenda: Lincoln Elementary Implementation Team — Tue 01 Dec 2026 15:00"
    )
    text = posted.text
    sections = [ln for ln in text.splitlines() if ln[:3] in {f"*{n}." for n in range(1, 7)}]
    assert [s.split(" ", 1)[0] for s in sections] == ["*1.", "*2.", "*3.", "*4.", "*5.", "*6."]
    # 1. roles and action items; members' items
    assert "Facilitator: Alice Reyes · Note taker: Femi Adeyemi · Data: Erin Walsh" in text
    assert "[open] send the meeting notes by Friday — Femi Adeyemi (A2)" in text
    assert "Plan the family literacy night — Carol Jensen (A1)" in text
    # 2. data review: loop figures
    loop = line_with(text, "The loop:")
    assert "3 open with us, 2 waiting for our decision, 0 overdue; 1 waiting above" in loop
    # 3. barriers: new (the anonymous one never names its reporter), open by age, above, down
    new = line_with(text, "#4 Families")
    assert "Femi" not in new and "decide by Tue 01 Dec 2026" in new  # holidays paused the clock
    assert "6 days old, due Tue 01 Dec 2026" in line_with(text, "#3 Fidelity")
    above = line_with(text, "#1 Reading screener")
    assert "with State Implementation Team, due " in above
    down = line_with(text, "#2 No substitute")
    assert "resolved by Riverside District Implementation Team" in down
    assert "→ tell" not in down  # the relay reached the reporter: nobody needs to tell them
    # 4. successes and recognition since the last meeting
    assert "Success #5 Paired reading doubled minutes read — shared by Carol Jensen" in text
    assert "Carol Jensen recognised Dev Patel: covering my coaching session" in text
    # 5. what to send to which linked team
    assert "Up to Riverside District Implementation Team:" in text
    assert "success #5 Paired reading doubled minutes read — send it up" in text
    assert "Back to the reporter:" not in text
    # 6. next meeting and the self-check
    assert "Next meeting after this one: Tue 08 Dec 2026 15:00." in text
    assert "Was this a good use of our time?" in text


async def test_unfinished_agenda_items_carry_forward(chat: LocalChat, clock: FixedClock) -> None:
    await chat.say("carol", "agenda add Plan the family literacy night")
    await chat.say("dev", "agenda add Coaching schedule for January")
    await chat.say("alice", "agenda action @femi send the meeting notes")
    clock.set(AGENDA_DEC_1)
    await run(chat, "agenda", "lincoln", AGENDA_DEC_1)
    clock.advance(hours=3)  # after the meeting: one topic and the action are done
    assert "Done: A2" in (await chat.say("dev", "agenda done A2")).text()
    assert "Done: A3" in (await chat.say("femi", "agenda done a3")).text()
    refused = await chat.say("dana", "agenda done A1")  # not on Lincoln
    assert "no agenda item A1" in refused.text()
    clock.set(AGENDA_DEC_8)
    await run(chat, "agenda", "lincoln", AGENDA_DEC_8)
    text = (await chat.channel("lincoln"))[-1].message.text
    assert (
        "Plan the family literacy night — Carol Jensen (carried forward from Mon 23 Nov 2026)"
        in text
    )
    assert "Coaching schedule" not in text  # done: it does not carry forward
    assert "[done] send the meeting notes — Femi Adeyemi (A3)" in text  # done since last time


async def test_agenda_command_shows_and_adds_in_a_team_channel(
    chat: LocalChat, clock: FixedClock
) -> None:
    shown = await chat.say("dana", "agenda")  # Dana's home team is Riverside
    assert shown.replies[0].title.startswith("Standing agenda: Riverside District")
    added = await chat.say("bob", "agenda add Substitute pool", channel="lincoln")
    assert "next agenda of Lincoln Elementary" in added.text()
    refused = await chat.say("kofi", "agenda add Something", channel="lincoln")
    assert "Only members of Lincoln" in refused.text()
    other = await chat.say("dana", "agenda state add Budget timeline")  # Dana is a state liaison
    assert "State Implementation Team" in other.text()
    # Slack's /looplink agenda add ... arrives as the looplink command
    slash = await chat.command("carol", "looplink", "agenda add Bus schedule")
    assert "next agenda of Lincoln" in slash.text()


async def test_digest_goes_to_lead_and_liaisons(chat: LocalChat, clock: FixedClock) -> None:
    await seed_activity(chat, clock)
    await chat.press("dev", "feedback:goal_met", "2")  # the fix worked
    clock.set(DIGEST_NOV_30)
    assert await run(chat, "digest", "lincoln", DIGEST_NOV_30) == 2
    for person in ("alice", "bob"):
        msg = (await chat.dms(person))[-1].message
        assert msg.title == (
            "Weekly digest: Lincoln Elementary Implementation Team, week to Mon 30 Nov 2026"
        )
    text = (await chat.dms("alice"))[-1].message.text
    assert "*New* (5)" in text
    resolved = line_with(text, "in 1.1 days")
    assert resolved.startswith("• #2 No substitute") and "by Riverside District" in resolved
    escalated = line_with(text, "now with State")
    assert escalated.startswith("• #1 Reading") and "due Thu 10 Dec 2026" in escalated
    assert "*Overdue* (0)" in text  # the Thanksgiving holidays paused the clock
    assert "Goal met" in line_with(text, "#2 No substitute cover on coaching days — Goal")
    assert "*Recognition given* (3)" in text
    assert "Decision-support data systems 1" in line_with(text, "by driver")
    assert "families 1" in line_with(text, "affected")
    assert "25% of loops closed (1 of 4 barriers reported here" in text
    assert "Waiting on you from the teams below" not in text  # Lincoln has no team below
    assert "Femi" not in text  # the anonymous reporter of #4
    assert await run(chat, "digest", "riverside", DIGEST_NOV_30) == 3  # dana, bob, ivan
    riverside = (await chat.dms("dana"))[-1].message.text
    assert "Waiting on you from the teams below" in riverside
    refused = await chat.say("carol", "digest")
    assert "for team leads and liaisons" in refused.text()
    mine = await chat.say("alice", "digest")
    assert mine.replies[0].title.startswith("Weekly digest: Lincoln")


async def test_roundup_recognises_and_keeps_anonymity(chat: LocalChat, clock: FixedClock) -> None:
    await seed_activity(chat, clock)
    await decide(chat, "alice", 4, "resolve", "The newsletter now goes out in Spanish too")
    holiday = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # Friday 14:00 CST, a holiday
    clock.set(holiday)
    assert await run(chat, "roundup", "lincoln", holiday) == 0  # skipped (issue 15) ...
    fire = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)  # ... the next Friday covers its week too
    clock.set(fire)
    assert await run(chat, "roundup", "lincoln", fire) == 1
    msg = (await chat.channel("lincoln"))[-1].message
    assert msg.title == "Recognition roundup: Lincoln Elementary Implementation Team"
    text = msg.text
    assert "Alice Reyes recognised *Erin Walsh*: running the data review" in text
    assert "raised by Dev Patel, solved by Riverside District" in line_with(text, "#2 No sub")
    assert "raised by a colleague, solved by Lincoln" in line_with(text, "#4 Families")
    assert "Femi" not in text
    assert "Paired reading doubled minutes read — Carol Jensen" in text


async def test_progress_shows_stage_figures_and_milestones(
    chat: LocalChat, clock: FixedClock
) -> None:
    async with chat.rt.db.transaction() as s:
        team = (await s.scalars(select(Team).where(Team.id == "lincoln"))).one()
        team.extra = {
            "progress": {"stage": "initial_implementation"},
            "measures": [{"name": "Fidelity (observed)", "value": "78%", "target": "80%"}],
        }
    for n in range(10):
        await chat.submit("carol", "barrier", {"summary": f"Barrier number {n + 1}"})
        await decide(chat, "alice", n + 1, "resolve", "Fixed here")
    fire = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # first Monday of December, 09:00 CST
    clock.set(fire)
    assert await run(chat, "progress", "lincoln", fire) == 1
    msg = (await chat.channel("lincoln"))[-1].message
    assert msg.title == "Progress: Lincoln Elementary Implementation Team"
    assert "Stage of implementation: *Initial implementation*" in msg.text
    assert "Fidelity (observed): 78% (target 80%)" in msg.text
    assert "10 barriers removed so far (10 since Mon 02 Nov 2026)" in msg.text
    assert "Milestone: 10 barriers removed!" in msg.text
    assert "Milestone: 5 barriers removed!" in msg.text
    # the next month: no new milestone
    nxt = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)
    clock.set(nxt)
    await run(chat, "progress", "lincoln", nxt)
    assert "Milestone" not in (await chat.channel("lincoln"))[-1].message.text


async def test_agenda_says_tell_the_reporter_only_when_not_told(
    chat: LocalChat, clock: FixedClock
) -> None:
    """Issue 15: the reporter is on the list to tell only while the relay has not reached them."""
    from bot.db.models import Item

    clock.set(datetime(2026, 11, 24, 22, 0, tzinfo=UTC))
    await seed_activity(chat, clock)
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, 2)
        assert item is not None and item.reporter_told_at is not None
        item.reporter_told_at = None  # say the DM could not be delivered
    clock.set(AGENDA_DEC_1)
    assert await run(chat, "agenda", "lincoln", AGENDA_DEC_1) == 1
    text = (await chat.channel("lincoln"))[-1].message.text
    assert "→ tell the reporter" in line_with(text, "#2 No substitute")
    assert "Back to the reporter:" in text


async def test_agenda_roundup_and_progress_skip_holidays(
    chat: LocalChat, clock: FixedClock
) -> None:
    """Issue 15: like nudges, they are not sent on a team's holidays (skipped, not moved)."""
    christmas_eve = datetime(2026, 12, 24, 19, 0, tzinfo=UTC)  # a holiday in the org file
    clock.set(christmas_eve)
    for kind in ("agenda", "roundup", "progress"):
        assert await run(chat, kind, "lincoln", christmas_eve) == 0, kind
    working = datetime(2026, 12, 22, 19, 0, tzinfo=UTC)
    clock.set(working)
    for kind in ("agenda", "roundup", "progress"):
        assert await run(chat, kind, "lincoln", working) == 1, kind


async def test_an_agenda_follows_its_meetings_day_not_the_weekend(
    chat: LocalChat, clock: FixedClock
) -> None:
    """A Monday meeting's agenda goes out on the Sunday before (a weekend is no holiday); a
    meeting on a holiday has no agenda even when the day before is a working day."""
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None
        team.meeting_schedule, team.agenda_before_minutes = "0 15 * * mon", 1440
    sunday = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)  # 15:00 CST, the day before Mon 7 Dec
    clock.set(sunday)
    assert await run(chat, "agenda", "lincoln", sunday) == 1
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None
        team.meeting_schedule = "0 15 * * thu"  # Thu 24 Dec is a holiday in the org file
    wednesday = datetime(2026, 12, 23, 21, 0, tzinfo=UTC)
    clock.set(wednesday)
    assert await run(chat, "agenda", "lincoln", wednesday) == 0
