"""Authorisation matrix: every decision, by every role, at every level of the chain.

The rule (DOMAIN.md, issue 2): the holding team's lead or liaison, or a lead of any linked
team above it, may decide; nobody else. Expected answers are computed from the org file here,
independently of the engine's own check.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.local import LocalChat
from bot.db.models import Item
from bot.orgfile import load_org
from looplink.platforms import infos
from tests.conftest import EXAMPLE_ORG

SPEC = load_org(EXAMPLE_ORG, infos())
TEAMS = {t.id: t for t in SPEC.teams}
PEOPLE = [p.id for p in SPEC.people]
CHAIN = ["lincoln", "riverside", "state"]  # where the item is held, by level
DECISIONS = {
    "acknowledge": {},
    "assign": {"owner": "dev"},
    "resolve": {"note": "done"},
    "escalate": {"note": "outside our control"},
    "ask_info": {"note": "which days?"},
    "decline": {"note": "out of scope"},
    "merge": {"merge_into": "1", "note": ""},
}


def may_decide(person: str, team_id: str) -> bool:
    roles = {m.person: m.role for m in TEAMS[team_id].members}
    if roles.get(person) in ("lead", "liaison"):
        return True
    parent = TEAMS[team_id].parent
    while parent is not None:
        if {m.person: m.role for m in TEAMS[parent].members}.get(person) == "lead":
            return True
        parent = TEAMS[parent].parent
    return False


def test_matrix_covers_every_role() -> None:
    roles = {m.role for t in SPEC.teams for m in t.members}
    assert roles >= {"lead", "liaison", "coach", "data", "facilitator", "notes", "member"}


async def _hold_at(chat: LocalChat, level: int) -> int:
    await chat.submit("carol", "barrier", {"summary": "target"})
    async with chat.rt.db.transaction() as s:
        iid = max((await s.scalars(select(Item.id))).all())
    for team in CHAIN[:level]:
        leader = next(m.person for m in TEAMS[team].members if m.role == "lead")
        await chat.submit(
            leader, "decide", {"note": "up"}, {"item": str(iid), "decision": "escalate"}
        )
    return iid


@pytest.mark.parametrize("decision", list(DECISIONS))
@pytest.mark.parametrize("level", [0, 1, 2])
async def test_decision_by_every_person(chat: LocalChat, decision: str, level: int) -> None:
    await chat.submit("dev", "barrier", {"summary": "merge target"})  # item #1
    iid = await _hold_at(chat, level)
    holding = CHAIN[level]
    if decision == "escalate" and TEAMS[holding].parent is None:
        allowed_people = []  # nobody can escalate above the top team
    else:
        allowed_people = [p for p in PEOPLE if may_decide(p, holding)]
    for person in PEOPLE:
        if person in allowed_people:
            continue
        res = await chat.submit(
            person, "decide", DECISIONS[decision], {"item": str(iid), "decision": decision}
        )
        async with chat.rt.db.transaction() as s:
            item = await s.get(Item, iid)
            assert item is not None
            assert item.holding_team_id == holding and item.state in ("new", "escalated"), (
                person,
                res.text(),
            )
        assert res.replies and (
            "Only the lead or liaison" in res.text() or "top team" in res.text()
        )
    for n, person in enumerate(allowed_people):
        target = iid if n == 0 else await _hold_at(chat, level)  # a fresh item for each
        res = await chat.submit(
            person, "decide", DECISIONS[decision], {"item": str(target), "decision": decision}
        )
        assert "Only the lead" not in res.text() and not res.errors, (person, res.text())
        async with chat.rt.db.transaction() as s:
            item = await s.get(Item, target)
            assert item is not None
        changed = (
            item.owner_id == "dev"
            if decision == "assign"
            else item.state not in ("new", "escalated")
        )
        if decision == "escalate":
            changed = item.holding_team_id == CHAIN[level + 1]
        assert changed, (person, decision, item.state)
    assert set(allowed_people) <= set(PEOPLE)
