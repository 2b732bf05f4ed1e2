"""Step-by-step reporting in a DM, with its state persisted across a restart."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.local import LocalChat, LocalSender
from adapters.local.settings import INFO as LOCAL_INFO
from bot.db.models import ConversationState, Item
from bot.db.session import Database
from bot.outbox import Fanout
from bot.runtime import Runtime
from bot.texts import Texts, set_texts


async def test_dm_report_survives_a_restart(chat: LocalChat, db_url: str) -> None:
    first = await chat.say("carol", "The reading room has no decodable books for grade 1")
    assert "Where, when and how often" in first.text()
    await chat.say("carol", "Lincoln library, every week")
    await chat.say("carol", "students: English learners")

    # "restart": a brand-new runtime on the same database continues the conversation
    db2 = Database(db_url)
    try:
        rt2 = Runtime(db2, chat.rt.clock, Fanout(platforms=()))
        rt2.add_platform(LOCAL_INFO, LocalSender(db2, chat.rt.clock))
        chat2 = LocalChat(rt2)
        assert "Reply with a number" in (await chat2.say("carol", "42")).text()  # bad driver number
        await chat2.say("carol", "2")  # training
        await chat2.say("carol", "skip")  # stage
        await chat2.say("carol", "2")  # outside this team's control (issue 15)
        await chat2.say("carol", "Asked every week since September")  # how they know
        await chat2.say("carol", "Borrowed from Washington")
        await chat2.say("carol", "Order a decodable set")
        assert "low, normal or high" in (await chat2.say("carol", "whenever")).text()
        await chat2.say("carol", "high")
        confirm = await chat2.say("carol", "no")
        assert "Ready to send" in confirm.text()
        done = await chat2.say("carol", "send")
        assert "Thanks" in done.text()
        async with db2.transaction() as s:
            item = (await s.scalars(select(Item))).one()
            assert (item.summary, item.details, item.affected, item.subgroup) == (
                "The reading room has no decodable books for grade 1",
                "Lincoln library, every week",
                ["students"],
                "English learners",
            )
            assert (item.driver, item.tried, item.suggestion, item.urgency, item.anonymous) == (
                "training",
                "Borrowed from Washington",
                "Order a decodable set",
                "high",
                False,
            )
            assert (item.locus, item.evidence) == ("outside", "Asked every week since September")
            ended = (await s.scalars(select(ConversationState))).all()
            assert [(r.flow, r.data["item"]) for r in ended] == [("sent", item.id)]
    finally:
        await db2.close()


async def test_cancel_and_typed_command(chat: LocalChat) -> None:
    res = await chat.say("carol", "success")
    assert "What worked?" in res.text()
    assert any(b.action == "open:success" for m in res.replies for b in m.buttons)
    assert "Cancelled" in (await chat.say("carol", "cancel")).text()
    assert "nothing to cancel" in (await chat.say("carol", "cancel")).text()
    res = await chat.say("carol", "barrier Subs are not trained on the routine")
    assert "Where, when and how often" in res.text()  # the summary came with the command


async def test_channel_chatter_is_ignored(chat: LocalChat) -> None:
    res = await chat.say("carol", "great meeting everyone", channel="lincoln")
    assert res.replies == [] and res.form is None
    assert "Looplink" in (await chat.say("carol", "help", channel="lincoln")).text()


async def test_success_steps_send(chat: LocalChat) -> None:
    await chat.say("carol", "success Family reading night doubled attendance")
    for answer in ("At Lincoln, for families", "families", "9", "no"):
        await chat.say("carol", answer)
    res = await chat.press("carol", "steps:send")
    assert "success #1" in res.text()
    card = (await chat.channel("lincoln"))[-1].message
    assert card.title.startswith("Success #1") and any(
        b.label == "Send up to share" for b in card.buttons
    )


async def test_an_organisation_can_reword_the_step_by_step_questions(
    chat: LocalChat, tmp_path: Path
) -> None:
    """The questions are a template (steps_question.j2) like every other word, so an
    organisation's override rewords them; the numbered choices still come with them."""
    (tmp_path / "steps_question.j2").write_text(
        '{% if step == "details" %}Where does it show up, and how often?'
        '{% elif step == "driver" %}Pick the area:\n{% for o in options %}{{ loop.index }}) {{ o }}\n'
        "{% endfor %}{% else %}Next: {{ step }}{% endif %}"
    )
    set_texts(Texts(tmp_path))
    try:
        res = await chat.say("carol", "barrier Subs are not trained on the routine")
        assert "Where does it show up, and how often?" in res.text()
        assert "Next: affected" in (await chat.say("carol", "Grades 2-4, twice a week")).text()
        res = await chat.say("carol", "students")
    finally:
        set_texts(Texts())
    assert "Pick the area:\n1) " in res.text() and "2) " in res.text()
