"""An organisation rewords scheduled messages by dropping templates in a folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.texts import Texts, set_texts
from scheduler.api import run_job_now
from tests.sched_seed import decide


@pytest.fixture
def org_templates(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "agenda.j2").write_text(
        '{% set title = "Huddle plan for " ~ team.name %}'
        "Bring your data, {{ roles.facilitator }} facilitates. "
        "{{ new | length }} new item(s) to triage.\n",
        encoding="utf-8",
    )
    (folder / "follow_up.j2").write_text("Quick check on #{{ item.id }}: did it help?\n")
    set_texts(Texts(folder))
    try:
        yield folder
    finally:
        set_texts(Texts())


async def test_templates_overridden_from_a_folder(
    chat: LocalChat, clock: FixedClock, org_templates: Path
) -> None:
    await chat.submit("carol", "barrier", {"summary": "Screener data late"})
    assert await run_job_now(chat.rt, "lincoln", "agenda") == 1
    assert await run_job_now(chat.rt, "lincoln", "digest") == 2  # not overridden: the default
    await chat.rt.dispatcher.run_once()
    agenda = (await chat.channel("lincoln"))[-1].message
    assert agenda.title == "Huddle plan for Lincoln Elementary Implementation Team"
    assert agenda.text == "Bring your data, Alice Reyes facilitates. 1 new item(s) to triage."
    digest = (await chat.dms("alice"))[-1].message
    assert digest.title.startswith("Weekly digest: Lincoln")
    # an existing core template overridden too: the follow-up question
    await decide(chat, "alice", 1, "resolve", "The vendor now sends it weekly")
    clock.advance(weeks=5)
    assert await run_job_now(chat.rt, "lincoln", "follow_up") == 1
    await chat.rt.dispatcher.run_once()
    asked = (await chat.dms("carol"))[-1].message
    assert asked.text == "Quick check on #1: did it help?"
    assert "feedback:goal_met" in [b.action for b in asked.buttons]
