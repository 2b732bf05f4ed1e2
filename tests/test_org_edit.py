"""Org edits from the admin console (bot/org_edit.py): the organisation as a document, the org
file's own validator with problems pinned to fields, the same tables `org apply` writes, an
`OrgChange` per edit, and the rule that the org file wins (bot/org_changes.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.local import LocalChat
from adapters.local.web import env as web_env
from bot.cadence import cadence, lead
from bot.db.models import Membership, OrgChange, Person, PlatformId, Team
from bot.org_apply import apply_org
from bot.org_changes import apply_file, file_digest, keep_console_edits, since_last_apply
from bot.org_doc import Invalid, snapshot, validate
from bot.org_edit import (
    Edit,
    PersonForm,
    TeamForm,
    deactivate_person,
    deactivate_team,
    find_people,
    save_calendar,
    save_person,
    save_team,
    team_form,
)
from bot.orgfile import load_org
from bot.runtime import Runtime
from looplink.platforms import infos

EXAMPLE = Path(__file__).parent.parent / "examples" / "org.yaml"


def building(**kw: Any) -> TeamForm:
    form = TeamForm(
        id="jefferson",
        name="Jefferson Elementary Implementation Team",
        level="building",
        parent="riverside",
        response_days="4",
        meeting="0 10 1-7 * wed",
        agenda_before="1440",
        members=[("kofi", "lead")],
    )
    for k, v in kw.items():
        setattr(form, k, v)
    return form


async def test_the_database_round_trips_as_the_org_file(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        doc = await snapshot(s, infos())
        spec = validate(doc, infos())
        assert {t.id for t in spec.teams} == {t.id for t in load_org(EXAMPLE, infos()).teams}
        report = await apply_org(s, spec)
    assert report.changes == 0, report.summary()


async def test_a_new_building_team_lands_where_org_apply_writes(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        row = await save_team(ed, building(add_person="Carol Jensen"), creating=True)
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "jefferson")
        assert team is not None and team.parent_id == "riverside" and team.response_days == 4
        assert team.meeting_schedule == "0 10 1-7 * wed" and team.agenda_before_minutes == 1440
        roles = {
            m.person_id: m.role
            for m in (await s.scalars(select(Membership).where(Membership.team_id == "jefferson")))
        }
        assert roles == {"kofi": "lead", "carol": "member"}
        changes = (await s.scalars(select(OrgChange))).all()
    assert [(c.actor, c.source, c.action, c.entity) for c in changes] == [
        ("admin", "console", "create", "team:jefferson")
    ]
    assert ["parent", "", "riverside"] in row.changes
    assert ["member carol", "", "member"] in row.changes


async def test_problems_are_the_validators_pinned_to_fields(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        with pytest.raises(Invalid) as err:
            bad = building(parent="nowhere", response_days="lots", meeting="every tuesday")
            await save_team(ed, bad, creating=True)
    about = {p.about("team", "jefferson"): p.message for p in err.value.problems}
    assert about["parent"] == "team 'jefferson' has unknown parent 'nowhere'"
    assert about["response_days"].startswith("response_days must be a whole number")
    assert about["meeting"].startswith("bad cron 'every tuesday'")
    async with chat.rt.db.transaction() as s:
        assert await s.get(Team, "jefferson") is None  # nothing written
        assert (await s.scalars(select(OrgChange))).all() == []


async def test_no_lead_duplicate_and_a_cycle(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        with pytest.raises(Invalid) as err:
            await save_team(ed, building(members=[("kofi", "coach")]), creating=True)
        assert err.value.problems[0].about("team", "jefferson") == "members"
        assert "has no lead" in err.value.problems[0].message
        with pytest.raises(Invalid) as err:
            await save_team(ed, building(id="lincoln"), creating=True)
        assert err.value.problems[0].code == "team_exists"
        state = team_form(await snapshot(s, infos()), "state")
        assert state is not None
        state.parent = "lincoln"
        with pytest.raises(Invalid) as err:
            await save_team(ed, state, creating=False)
        assert "cycle" in err.value.problems[0].message
        assert "line" not in err.value.problems[0].message


async def test_finding_people_by_name_email_and_linked_id(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        assert [p.id for p in await find_people(s, "carol jen")] == ["carol"]
        assert [p.id for p in await find_people(s, "CAROL.JENSEN@riverside.example")] == ["carol"]
        assert [p.id for p in await find_people(s, "U0CAROL")] == ["carol"]
        assert [p.id for p in await find_people(s, "@carol")] == ["carol"]
        assert len(await find_people(s, "a")) > 1
        assert await find_people(s, "  ") == []
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        with pytest.raises(Invalid) as err:
            await save_team(ed, building(add_person="zzz"), creating=True)
        assert err.value.problems[0].code == "no_match"
        with pytest.raises(Invalid) as err:
            await save_team(ed, building(add_person="a"), creating=True)
        assert err.value.problems[0].code == "many_matches"
        with pytest.raises(Invalid) as err:
            await save_team(ed, building(add_person="kofi"), creating=True)
        assert err.value.problems[0].code == "already_member"


async def test_people_calendar_and_deactivation(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        await save_person(ed, PersonForm("zoe", "Zoe Park", "zoe@riverside.example"), True)
        await save_team(ed, building(members=[("zoe", "lead")]), creating=True)
        with pytest.raises(Invalid) as err:
            await deactivate_person(ed, "zoe")  # Jefferson would have nobody
        assert "team 'jefferson' has no members" in err.value.problems[0].message
        await deactivate_team(ed, "jefferson")
        await deactivate_person(ed, "zoe")
        with pytest.raises(Invalid) as err:
            await save_calendar(ed, "pause", "2026-12-24\nchristmas")
        assert err.value.problems[0].path == ("calendar", "holidays")
        assert "'christmas' is not a date" in err.value.problems[0].message
        await save_calendar(ed, "pause", "2026-12-24, 2027-01-02")
        with pytest.raises(Invalid):
            await deactivate_team(ed, "riverside")  # its buildings would have no parent
    async with chat.rt.db.transaction() as s:
        team, zoe = await s.get(Team, "jefferson"), await s.get(Person, "zoe")
        assert team is not None and not team.active and zoe is not None and not zoe.active
        assert [c.entity for c in await since_last_apply(s)] == [
            "person:zoe",
            "team:jefferson",
            "team:jefferson",
            "person:zoe",
            "calendar",
        ]


async def test_an_inactive_person_comes_back_with_their_ids(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        await save_team(ed, building(members=[("kofi", "lead"), ("lena", "data")]), True)
        form = team_form(await snapshot(s, infos()), "washington")
        assert form is not None
        form.members = [(p, r) for p, r in form.members if p != "lena"]
        await save_team(ed, form, creating=False)
        form = team_form(await snapshot(s, infos()), "jefferson")
        assert form is not None
        form.members = [(p, r) for p, r in form.members if p != "lena"]
        await save_team(ed, form, creating=False)
        await deactivate_person(ed, "lena")
        await save_team(ed, building(id="adams", add_person="lena"), creating=True)
        lena = await s.get(Person, "lena")
        assert lena is not None and lena.active
        ids = (await s.scalars(select(PlatformId).where(PlatformId.owner_id == "lena"))).all()
        assert [i.value for i in ids] == ["U0LENA"]


async def test_the_org_file_wins_and_lists_what_it_replaced(chat: LocalChat) -> None:
    text = EXAMPLE.read_bytes()
    spec = load_org(EXAMPLE, infos())
    async with chat.rt.db.transaction() as s:
        first = await apply_file(s, spec, chat.rt.clock.now(), file_digest(text))
        assert first.replaced == []
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        await save_team(ed, building(), creating=True)
        # a restart with the same file keeps the console's edit
        assert await keep_console_edits(s, file_digest(text)) == 1
        assert await keep_console_edits(s, file_digest(text + b"\n")) == 0
        again = await apply_file(s, spec, chat.rt.clock.now(), file_digest(text))
        assert [c.entity for c in again.replaced] == ["team:jefferson"]
        assert "team jefferson" in again.report.deactivated
        assert await since_last_apply(s) == []
        assert await keep_console_edits(s, file_digest(text)) == 0


@pytest.mark.parametrize(
    ("cron", "before", "said"),
    [
        ("0 10 1-7 * wed", 1440, "first Wednesday of each month at 10:00, agenda the day before"),
        ("30 13 * * wed", 120, "every Wednesday at 13:30, agenda 2 hours before"),
        ("0 8 * * mon-fri", None, "every Monday, Tuesday, Wednesday, Thursday and Friday at 08:00"),
        ("0 9 * * 1,3", 0, "every Monday and Wednesday at 09:00, agenda when the meeting starts"),
        ("0 9 * * *", 90, "every day at 09:00, agenda 90 minutes before"),
        ("15 7 15 * *", 2880, "day 15 of each month at 07:15, agenda 2 days before"),
        ("0 10 22-28 * fri", None, "fourth Friday of each month at 10:00"),
        ("*/5 * * * *", None, "on the schedule “*/5 * * * *”"),
        ("0 25 * * *", None, "on the schedule “0 25 * * *”"),
        ("0 9 1-10 * mon", None, "on the schedule “0 9 1-10 * mon”"),
    ],
)
def test_schedules_read_as_people_say_them(cron: str, before: int | None, said: str) -> None:
    macros: Any = web_env().get_template("_console.html").module
    assert str(macros.cadence(cadence(cron), lead(before))).strip() == said
    assert cadence("") is None and lead("soon") is None


async def test_channels_land_in_the_declared_workspace_and_stay_one_teams(
    chat: LocalChat,
) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        with pytest.raises(Invalid) as err:
            await save_team(ed, building(channels={"slack": "C0LINCOLN"}), creating=True)
        problem = err.value.problems[0]
        assert problem.about("team", "jefferson") == "channels"
        assert "of team 'lincoln' (team 'lincoln')" in problem.message  # no "line 57"
        await save_team(ed, building(channels={"slack": "C0JEFF", "teams": ""}), creating=True)
        row = await s.get(PlatformId, ("team", "jefferson", "slack", "T0RIVER"))
        assert row is not None and row.value == "C0JEFF" and row.origin == "org"
        form = team_form(await snapshot(s, infos()), "jefferson")
        assert form is not None and form.channels == {"slack": "C0JEFF"}
        form.recognition = "off"
        await save_team(ed, form, creating=False)
        team = await s.get(Team, "jefferson")
        assert team is not None and team.extra == {"recognition": "off"}
        form.recognition = "every friday"
        with pytest.raises(Invalid) as err:
            await save_team(ed, form, creating=False)
        assert err.value.problems[0].about("team", "jefferson") == "recognition"


async def test_saving_a_team_as_shown_changes_nothing(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        ed = Edit(s, infos(), chat.rt.clock.now(), "admin")
        for tid in ("state", "lincoln", "millbrook"):
            form = team_form(await snapshot(s, infos()), tid)
            assert form is not None
            row = await save_team(ed, form, creating=False)
            assert row.changes == [], (tid, row.changes)
        ids = (await s.scalars(select(PlatformId).where(PlatformId.owner_id == "lincoln"))).all()
        assert sorted(i.value for i in ids) == ["19:lincoln@thread.tacv2", "C0LINCOLN"]


async def test_two_admins_saving_at_once_lose_nothing(org: Runtime) -> None:
    """Each save edits the whole organisation as a document: a second save that read it before
    the first committed would write the first's fields back. Saves take turns instead."""
    started = asyncio.Event()

    async def second() -> None:
        await started.wait()
        async with org.db.transaction() as s:
            form = team_form(await snapshot(s, infos()), "washington")
            assert form is not None
            form.response_days = "9"
            await save_team(Edit(s, infos(), org.clock.now(), "kaya"), form, creating=False)

    task = asyncio.create_task(second())
    async with org.db.transaction() as s:
        form = team_form(await snapshot(s, infos()), "lincoln")
        assert form is not None
        form.name = "Lincoln Elementary (renamed)"
        await save_team(Edit(s, infos(), org.clock.now(), "admin"), form, creating=False)
        started.set()
        await asyncio.sleep(0.5)  # the second save starts and must wait for this one
    await asyncio.wait_for(task, 20)
    async with org.db.transaction() as s:
        lincoln, washington = await s.get(Team, "lincoln"), await s.get(Team, "washington")
    assert lincoln is not None and lincoln.name == "Lincoln Elementary (renamed)"
    assert washington is not None and washington.response_days == 9


async def test_a_save_never_works_from_a_state_another_save_is_changing(org: Runtime) -> None:
    """One admin deactivates Kofi while another adds him to Lincoln: the second save waits
    for the first and sees Kofi inactive (and brings him back), never an active membership of
    an inactive person."""
    started = asyncio.Event()

    async def second() -> None:
        await started.wait()
        async with org.db.transaction() as s:
            form = team_form(await snapshot(s, infos()), "lincoln")
            assert form is not None
            form.add_person = "kofi.mensah@riverside.example"
            await save_team(Edit(s, infos(), org.clock.now(), "kaya"), form, creating=False)

    task = asyncio.create_task(second())
    async with org.db.transaction() as s:
        await deactivate_person(Edit(s, infos(), org.clock.now(), "admin"), "kofi")
        started.set()
        await asyncio.sleep(0.5)
    await asyncio.wait_for(task, 20)
    async with org.db.transaction() as s:
        kofi = await s.get(Person, "kofi")
        member = await s.get(Membership, ("lincoln", "kofi"))
    assert member is not None and member.active
    assert kofi is not None and kofi.active
