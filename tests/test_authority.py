"""Authority in one place (bot.authority) and typed decisions (bot.decisions).

The flows' answers are covered by test_engine.py and test_authz_matrix.py; here the one
function itself is asked, for every act, and the typed decisions are built from strings.
"""

from __future__ import annotations

import pytest

from adapters.local import LocalChat
from bot.authority import ITEM_ACTS, Act, Authority, role_allows
from bot.db.models import Item, Person, Team
from bot.decisions import (
    NEEDS_FORM,
    Acknowledge,
    AskInfo,
    Assign,
    Decline,
    Escalate,
    Merge,
    Resolve,
    decision_kind,
    decision_of,
)
from bot.directory import Directory
from bot.domain import Decision, Role
from bot.errors import InvalidInput, NotAllowed


async def _reported(chat: LocalChat, who: str = "carol", anonymous: bool = False) -> int:
    values = {"summary": "The bus drops students late"}
    if anonymous:
        values["anonymous"] = "true"
    res = await chat.submit(who, "barrier", values)
    assert "Thanks" in res.text(), res.text()
    return int(res.text().split("#", 1)[1].split(" ", 1)[0].rstrip(".:,"))


async def test_may_answers_every_act(chat: LocalChat) -> None:
    iid = await _reported(chat)
    async with chat.rt.db.transaction() as s:
        auth = Authority(Directory(s))
        item = await s.get(Item, iid)
        lincoln = await s.get(Team, "lincoln")
        assert item is not None and lincoln is not None
        assert await auth.may("alice", Act.DECIDE, item)  # lead
        assert await auth.may("grace", Act.DECIDE, item)  # lead two levels up
        assert not await auth.may("eli", Act.DECIDE, item)  # above, but a data lead
        assert await auth.may("carol", Act.ANSWER, item)
        assert not await auth.may("alice", Act.ANSWER, item)
        assert await auth.may("carol", Act.JUDGE_FIX, item)
        assert not await auth.may("alice", Act.JUDGE_FIX, item)  # not anonymous: reporter only
        assert await auth.may("carol", Act.REPORT, lincoln)
        assert not await auth.may("hana", Act.REPORT, lincoln)
        assert await auth.may("dev", Act.USE_AGENDA, lincoln)
        assert not await auth.may("dev", Act.LEAD, lincoln)  # a coach
        assert await auth.may("bob", Act.LEAD, lincoln)  # a liaison
        assert not await auth.may("bob", Act.TAKE_FLAGS, lincoln)
        assert await auth.may("alice", Act.TAKE_FLAGS, lincoln)
        with pytest.raises(ValueError):
            await auth.may("alice", Act.REPORT, item)
        with pytest.raises(ValueError):
            await auth.may("alice", Act.DECIDE, lincoln)
        with pytest.raises(NotAllowed, match="Only the lead or liaison of Lincoln"):
            await auth.require("carol", Act.DECIDE, item)
        with pytest.raises(NotAllowed, match="my own words"):
            await auth.require("carol", Act.DECIDE, item, "my own words")


async def test_anonymous_fix_is_judged_by_the_origin_leads(chat: LocalChat) -> None:
    iid = await _reported(chat, anonymous=True)
    async with chat.rt.db.transaction() as s:
        auth = Authority(Directory(s))
        item = await s.get(Item, iid)
        assert item is not None
        assert await auth.may("alice", Act.JUDGE_FIX, item)
        assert not await auth.may("dev", Act.JUDGE_FIX, item)


async def test_teams_where_and_audience(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        auth = Authority(Directory(s))
        assert [t.id for t in await auth.teams_where("alice", Act.LEAD)] == ["lincoln"]
        assert await auth.teams_where("carol", Act.LEAD) == []
        lincoln = await s.get(Team, "lincoln")
        assert lincoln is not None
        names = [p.id for p in await auth.audience(lincoln, Act.LEAD)]
        assert names[0] == "alice" and "bob" in names and "carol" not in names
        assert [p.id for p in await auth.audience(lincoln, Act.TAKE_FLAGS)] == ["alice"]


async def test_admins_are_the_org_files(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        auth = Authority(Directory(s))
        lincoln = await s.get(Team, "lincoln")
        assert lincoln is not None
        assert await auth.is_admin("kaya") and await auth.may("kaya", Act.ADMINISTER, lincoln)
        assert not await auth.is_admin("alice")  # a lead is not an admin
        assert not await auth.may("alice", Act.ADMINISTER, lincoln)
        assert not await auth.is_admin("nobody")
        with pytest.raises(NotAllowed, match="Only Looplink's admins"):
            await auth.require("alice", Act.ADMINISTER, lincoln)
        kaya = await s.get(Person, "kaya")
        assert kaya is not None
        kaya.active = False  # an admin who left the organisation is no longer one
        assert not await auth.is_admin("kaya")
        assert await Directory(s).admins() == ["kaya"]
        assert await auth.audience(lincoln, Act.ADMINISTER) == []


def test_role_table() -> None:
    assert role_allows(Act.REPORT, Role.MEMBER) and not role_allows(Act.REPORT, None)
    assert not role_allows(Act.LEAD, Role.COACH)
    assert {Act.DECIDE, Act.ANSWER, Act.JUDGE_FIX} == ITEM_ACTS


def test_typed_decisions_carry_only_what_they_need() -> None:
    assert decision_of(Decision.ACKNOWLEDGE) == Acknowledge()
    assert decision_of(Decision.ASSIGN, "", owner="@dev") == Assign("@dev")
    assert decision_of(Decision.RESOLVE, "done") == Resolve("done")
    assert decision_of(Decision.DECLINE, "no") == Decline("no")
    assert decision_of(Decision.ESCALATE, "why") == Escalate("why")
    assert decision_of(Decision.ASK_INFO, "which bus?") == AskInfo("which bus?")
    assert decision_of(Decision.MERGE, None, merge_into="#3") == Merge("#3")
    assert {d.kind for d in (Acknowledge(), Resolve(""), Merge(""))} == {
        Decision.ACKNOWLEDGE,
        Decision.RESOLVE,
        Decision.MERGE,
    }
    assert set(Decision) - NEEDS_FORM == {Decision.ACKNOWLEDGE}
    with pytest.raises(InvalidInput, match="out of date"):
        decision_kind("explode", "out of date")
