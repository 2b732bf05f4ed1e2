"""Action items (issue 15): an owner and a due date, understood as typed; editable and
removable; the owner is told when one is given to them and reminded before it is due."""

from __future__ import annotations

from datetime import UTC, date, datetime

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.dates import parse_day
from bot.db.models import AgendaItem
from scheduler.jobs import run_job

THURSDAY = date(2026, 11, 26)


def test_dates_are_understood_as_typed() -> None:
    for text, expected in [
        ("2026-12-04", date(2026, 12, 4)),
        ("4 Dec", date(2026, 12, 4)),
        ("Dec 4", date(2026, 12, 4)),
        ("December 4, 2026", date(2026, 12, 4)),
        ("12/4", date(2026, 12, 4)),
        ("friday", date(2026, 11, 27)),
        ("next Thursday", date(2026, 12, 3)),
        ("tomorrow", date(2026, 11, 27)),
        ("3 Jan", date(2027, 1, 3)),  # no year: the next one
    ]:
        assert parse_day(text, THURSDAY) == expected, text
    for text in ("someday", "31 Feb", "2026-13-01", "soon-ish"):
        assert parse_day(text, THURSDAY) is None, text


async def _entry(chat: LocalChat, entry_id: int) -> AgendaItem | None:
    async with chat.rt.db.transaction() as s:
        return await s.get(AgendaItem, entry_id)


async def test_action_with_owner_and_due_date_edit_and_remove(chat: LocalChat) -> None:
    res = await chat.say("alice", "agenda action @erin pull the fidelity data due 2026-12-04")
    said = res.text()
    assert "Added action item A1" in said and "Owner: Erin Walsh" in said
    assert "Due Fri 04 Dec 2026" in said, said
    entry = await _entry(chat, 1)
    assert entry is not None and entry.text == "pull the fidelity data"
    assert entry.due_on == date(2026, 12, 4) and entry.owner_id == "erin"
    told = (await chat.dms("erin"))[-1].message.text
    assert "Alice Reyes gave you an action item for Lincoln" in told and "Fri 04 Dec 2026" in told
    agenda = (await chat.say("alice", "agenda")).text()
    assert "[open] pull the fidelity data — Erin Walsh, due Fri 04 Dec 2026 (A1)" in agenda

    await chat.say("alice", "agenda edit A1 @femi due 7 Dec")
    entry = await _entry(chat, 1)
    assert entry is not None and entry.owner_id == "femi" and entry.due_on == date(2026, 12, 7)
    assert "gave you an action item" in (await chat.dms("femi"))[-1].message.text
    await chat.say("alice", "agenda edit A1 pull fidelity and attendance data")
    entry = await _entry(chat, 1)
    assert entry is not None and entry.text == "pull fidelity and attendance data"
    bad = await chat.say("alice", "agenda edit A1 due someday")
    assert 'I could not understand the date "someday"' in bad.text()
    other = await chat.say("hana", "agenda remove A1")  # Washington's lead: not her agenda
    assert "There is no agenda item A1" in other.text()
    gone = await chat.say("carol", "agenda remove A1")
    assert "Removed A1 from the agenda of Lincoln" in gone.text()
    assert await _entry(chat, 1) is None
    assert "pull fidelity" not in (await chat.say("alice", "agenda")).text()


async def test_owner_is_reminded_once_before_the_due_date(
    chat: LocalChat, clock: FixedClock
) -> None:
    await chat.say("alice", "agenda action @erin send the coaching log due 2026-12-04")
    n = len(await chat.dms("erin"))
    monday = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 09:00 in Chicago, 4 working days left
    clock.set(monday)
    await run_job(chat.rt, "nudges", "lincoln", monday)
    await chat.rt.dispatcher.run_once()
    assert len(await chat.dms("erin")) == n
    thursday = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # one working day left
    clock.set(thursday)
    await run_job(chat.rt, "nudges", "lincoln", thursday)
    await chat.rt.dispatcher.run_once()
    reminder = (await chat.dms("erin"))[-1].message.text
    assert reminder.startswith("Reminder: your action item for Lincoln"), reminder
    assert "due Fri 04 Dec 2026" in reminder
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    clock.set(friday)
    await run_job(chat.rt, "nudges", "lincoln", friday)
    await chat.rt.dispatcher.run_once()
    assert len(await chat.dms("erin")) == n + 1  # once
