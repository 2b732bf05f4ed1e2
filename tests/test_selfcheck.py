"""The meeting self-check (issue 15): answered in chat (the agenda's button and form, or typed),
per member, shown only aggregated with its trend in the digest, the progress message and the
dashboard; progress with nothing to report says so in one line; figures read as words."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.content.recognition import build_progress
from bot.db.models import SelfCheck, Team


async def _answer(chat: LocalChat, who: str, scores: tuple[str, str, str], note: str = "") -> str:
    agenda = (await chat.say(who, "agenda")).replies[0]
    button = next(b for b in agenda.buttons if b.action == "selfcheck")
    opened = await chat.press(who, button.action, button.value)
    assert opened.form is not None and opened.form.form_id == "selfcheck", opened.text()
    labels = [f.label for f in opened.form.fields]
    assert labels[:3] == [
        "Was this a good use of our time?",
        "Is every task tracked with an owner and a date?",
        "Did we do what we said we would last time?",
    ]
    values = dict(zip(("time", "tracked", "done"), scores, strict=True)) | {"note": note}
    return (await chat.submit(who, "selfcheck", values, opened.form.context)).text()


async def test_self_check_in_chat_is_aggregated_with_its_trend(
    chat: LocalChat, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))  # Tuesday, during the meeting
    said = await _answer(chat, "alice", ("4", "3", "5"), "We ran late")
    assert "your self-check for Lincoln Elementary Implementation Team is recorded" in said
    digest = (await chat.say("alice", "digest")).replies[0].text
    assert "Meeting self-check (2026-12-01, 1 answer): shown from 2 answers on" in digest
    await _answer(chat, "carol", ("2", "3", "3"))
    again = await _answer(chat, "carol", ("4", "5", "3"))  # a new answer replaces hers
    assert "recorded" in again
    async with chat.rt.db.transaction() as s:
        rows = (await s.scalars(select(SelfCheck).where(SelfCheck.person_id == "carol"))).all()
    assert len(rows) == 3
    digest = (await chat.say("alice", "digest")).replies[0].text
    assert (
        "Meeting self-check (2026-12-01, 2 answers): good use of time 4/5; tasks tracked 4/5; "
        "did what we said 4/5." in digest
    ), digest
    assert "Alice" not in digest.split("Meeting self-check")[1].split("\n")[0]
    # next week, typed in chat: the trend
    clock.set(datetime(2026, 12, 8, 20, 0, tzinfo=UTC))
    for who, typed in (("alice", "5 5 5"), ("dev", "5 3 4 good pace")):
        assert "recorded" in (await chat.say(who, f"selfcheck {typed}")).text()
    digest = (await chat.say("alice", "digest")).replies[0].text
    line = next(ln for ln in digest.splitlines() if ln.startswith("Meeting self-check"))
    assert line.startswith("Meeting self-check (2026-12-08, 2 answers): good use of time 5/5 ↑")
    assert "tasks tracked 4/5 =" in line and "did what we said 4.5/5 ↑" in line
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None
        progress = await build_progress(s, team, clock.now())
    assert "Meeting self-check (2026-12-08" in progress.text
    bad = await chat.say("carol", "selfcheck 9 9")
    assert "three numbers from 1 to 5" in bad.text()


async def test_progress_with_nothing_to_report_says_so_in_one_line(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "harbor")
        assert team is not None
        team.extra = {}
        progress = await build_progress(s, team, chat.rt.clock.now())
    assert progress.text.strip().count("\n") == 0, progress.text
    assert progress.text.startswith("Nothing to report yet for Harbor"), progress.text


async def test_loop_figures_read_as_words(chat: LocalChat) -> None:
    text = (await chat.say("alice", "digest")).replies[0].text
    assert " - " not in text and "0.0 days" not in text and "- of loops" not in text
    assert "no responses yet" in text
    assert "no barriers reported here yet, so no loops to close" in text


async def test_quarterly_pulse_goes_to_every_linked_team_and_is_aggregated(
    chat: LocalChat, clock: FixedClock
) -> None:
    from scheduler.jobs import run_job

    fire = datetime(2027, 1, 4, 16, 0, tzinfo=UTC)  # first Monday of Q1, 10:00 in Chicago
    clock.set(fire)
    for team in ("lincoln", "riverside", "state"):
        assert await run_job(chat.rt, "pulse", team, fire) == 1, team
    await chat.rt.dispatcher.run_once()
    posted = (await chat.channel("lincoln"))[-1].message
    assert posted.title == "How well is our feedback protocol working? (2027-Q1)"
    [button] = posted.buttons
    assert (button.action, button.value) == ("selfcheck", "pulse:lincoln:2027-Q1")
    for who, scores in (("alice", ("4", "2", "3")), ("carol", ("2", "2", "5"))):
        opened = await chat.press(who, button.action, button.value)
        assert opened.form is not None
        assert [f.label for f in opened.form.fields][:3] == [
            "We know what to send to our linked teams, and how",
            "Responses come back within the agreed time",
            "What comes back helps us act",
        ]
        values = dict(zip(("clear", "timely", "useful"), scores, strict=True))
        assert (
            "recorded" in (await chat.submit(who, "selfcheck", values, opened.form.context)).text()
        )
    digest = (await chat.say("alice", "digest")).replies[0].text
    assert (
        "Protocol pulse (2027-Q1, 2 answers): clear channels 3/5; timely responses 2/5; "
        "useful answers 4/5." in digest
    ), digest
