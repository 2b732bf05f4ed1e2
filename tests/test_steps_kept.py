"""The step-by-step report never swallows what a person types (issue 15): commands work
mid-report while the draft waits, a draft is set aside after a while and can be resumed, the
review shows every answer, drivers by name, and groups after a colon keep the groups after
them."""

from __future__ import annotations

from sqlalchemy import select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Item, Kudos


async def _only_item(chat: LocalChat) -> Item:
    async with chat.rt.db.transaction() as s:
        return (await s.scalars(select(Item))).one()


async def test_a_command_mid_report_runs_and_the_draft_waits(chat: LocalChat) -> None:
    await chat.say("carol", "barrier Substitutes are not trained on the routine")
    said = (await chat.say("carol", "kudos @alice for running the data review")).text()
    assert "Recognition sent" in said, said
    assert "Where, when and how often" in said  # the draft waits, and the bot says so
    async with chat.rt.db.transaction() as s:
        assert len((await s.scalars(select(Kudos))).all()) == 1
    await chat.say("carol", "Every Tuesday, grades 2-4")
    for answer in ("students", "2", "skip", "skip", "skip", "skip", "skip", "normal", "no"):
        await chat.say("carol", answer)
    await chat.say("carol", "send")
    item = await _only_item(chat)
    assert item.details == "Every Tuesday, grades 2-4"  # not "kudos @alice ..."


async def test_a_draft_is_set_aside_after_a_day_and_can_be_resumed(chat: LocalChat) -> None:
    await chat.say("carol", "barrier Substitutes are not trained on the routine")
    clock = chat.rt.clock
    assert isinstance(clock, FixedClock)
    clock.advance(hours=25)
    said = (await chat.say("carol", "Every Tuesday")).text()
    assert "set aside" in said and "resume" in said, said
    assert "Every Tuesday" in said  # what they typed is shown back, not lost
    back = (await chat.say("carol", "resume")).text()
    assert "Where, when and how often" in back, back
    assert "Who is affected" in (await chat.say("carol", "Every Tuesday")).text()


async def test_the_review_shows_every_answer(chat: LocalChat) -> None:
    await chat.say("carol", "barrier Substitutes are not trained on the routine")
    answers = [
        "Every Tuesday, grades 2-4",
        "students: English learners, staff",
        "fidelity assessment",
        "2",
        "outside",  # whose control (issue 15)
        "Asked three substitutes",  # how they know
        "A routine card",
        "Paid training time",
        "high",
    ]
    for a in answers:
        await chat.say("carol", a)
    review = (await chat.say("carol", "no")).text()
    for shown in (
        "Substitutes are not trained on the routine",
        "Every Tuesday, grades 2-4",
        "students, staff",
        "English learners",
        "Fidelity assessment",
        "Installation",
        "Outside this team's control",
        "Asked three substitutes",
        "A routine card",
        "Paid training time",
        "high",
    ):
        assert shown in review, (shown, review)
    await chat.say("carol", "send")
    item = await _only_item(chat)
    assert item.affected == ["students", "staff"] and item.subgroup == "English learners"
    assert item.driver == "fidelity"


async def test_the_driver_step_takes_a_name_or_a_number(chat: LocalChat) -> None:
    await chat.say("carol", "barrier Data arrives late")
    await chat.say("carol", "skip")
    await chat.say("carol", "skip")
    said = (await chat.say("carol", "Decision-support data systems")).text()
    assert "stage" in said.lower(), said
