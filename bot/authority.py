"""Authority in one place: may this person do this to this item (or team)?

`Authority.may` is the one function that answers it; every flow, card, job and the engine ask
it (directly, or through `require`, `teams_where` and `audience`, which are built on it). The
rules, with the roles from the org file:

| act          | target | who may                                                            |
|--------------|--------|--------------------------------------------------------------------|
| DECIDE       | item   | the holding team's lead or liaison, or a lead of any team above it |
| ANSWER       | item   | its reporter (answers the team's question)                         |
| JUDGE_FIX    | item   | its reporter; for an anonymous report also the origin team's       |
|              |        | deciders (who may then say whether the fix worked)                 |
| REPORT       | team   | its members (active team)                                          |
| USE_AGENDA   | team   | its members                                                        |
| SHOW_CARDS   | team   | its members: post the card of a report a burst notice listed       |
| LEAD         | team   | its leads and liaisons: the queue, the digest                      |
| TAKE_FLAGS   | team   | its leads: overdue flags when there is no team above               |
| ADMINISTER   | team   | the org file's `admins:` (active people): link a channel to a team |

A refusal carries the sentence the person reads (`require`); callers may give a sentence of
their own for the same rule where the context says more.
"""

from __future__ import annotations

from enum import StrEnum

from bot.db.models import Item, Person, Team
from bot.directory import Directory
from bot.domain import DECIDING_ROLES, OPEN_STATES, Role
from bot.errors import NotAllowed


class Act(StrEnum):
    DECIDE = "decide"
    ANSWER = "answer"
    JUDGE_FIX = "judge_fix"
    REPORT = "report"
    USE_AGENDA = "use_agenda"
    SHOW_CARDS = "show_cards"
    LEAD = "lead"
    TAKE_FLAGS = "take_flags"
    ADMINISTER = "administer"


ITEM_ACTS = frozenset({Act.DECIDE, Act.ANSWER, Act.JUDGE_FIX})
_MEMBER = frozenset(Role)

# For acts on a team: the roles on that team that allow it.
TEAM_ROLES: dict[Act, frozenset[Role]] = {
    Act.REPORT: _MEMBER,
    Act.USE_AGENDA: _MEMBER,
    Act.SHOW_CARDS: _MEMBER,
    Act.LEAD: DECIDING_ROLES,
    Act.TAKE_FLAGS: frozenset({Role.LEAD}),
    Act.ADMINISTER: frozenset(),  # no role on a team makes an admin: the org file's `admins:`
}


def role_allows(act: Act, role: str | None) -> bool:
    """Whether holding `role` on a team allows `act` on that team (None: not a member)."""
    return role is not None and role in TEAM_ROLES[act]


def decidable_in(item: Item, team: Team) -> bool:
    """Whether `team`'s channel is where `item` is decided now (its card gets the buttons)."""
    return item.state in OPEN_STATES and item.holding_team_id == team.id


class Authority:
    """Answers "may this person do this?" within one unit of work (one session)."""

    def __init__(self, directory: Directory) -> None:
        self.dir = directory

    async def may(self, person_id: str, act: Act, target: Item | Team) -> bool:
        """The one answer to "may `person_id` do `act` to `target`"."""
        if isinstance(target, Item):
            if act not in ITEM_ACTS:
                raise ValueError(f"{act} is an act on a team, not on an item")
            return await self._may_on_item(person_id, act, target)
        if act in ITEM_ACTS:
            raise ValueError(f"{act} is an act on an item, not on a team")
        if act == Act.ADMINISTER:
            return await self.is_admin(person_id)
        if act == Act.REPORT and not target.active:
            return False
        return role_allows(act, await self.dir.role_in(person_id, target.id))

    async def _may_on_item(self, person_id: str, act: Act, item: Item) -> bool:
        if act == Act.ANSWER:
            return item.reporter_id == person_id
        if act == Act.JUDGE_FIX:
            if item.reporter_id == person_id:
                return True
            return item.anonymous and await self.decides_for(person_id, item.origin_team_id)
        return await self.decides_for(person_id, item.holding_team_id)

    async def is_admin(self, person_id: str) -> bool:
        """Whether the person is an admin (the org file's `admins:`, active): they set Looplink
        up (link channels to teams) and may use what is only for admins."""
        return await self.dir.is_admin(person_id)

    async def decides_for(self, person_id: str, team_id: str) -> bool:
        """Whether the person may decide on what `team_id` holds (the DECIDE rule): the
        team's lead or liaison, or a lead of any linked team above it."""
        if await self.dir.role_in(person_id, team_id) in DECIDING_ROLES:
            return True
        for above in (await self.dir.chain_up(team_id))[1:]:
            if await self.dir.role_in(person_id, above.id) == Role.LEAD:
                return True
        return False

    async def require(
        self, person_id: str, act: Act, target: Item | Team, refusal: str | None = None
    ) -> None:
        """Raise NotAllowed (with `refusal`, or the rule's own sentence) unless allowed."""
        if await self.may(person_id, act, target):
            return
        raise NotAllowed(refusal or await self._refusal(act, target))

    async def _refusal(self, act: Act, target: Item | Team) -> str:
        if isinstance(target, Item):
            if act == Act.ANSWER:
                return "Only the person who reported this can answer questions about it."
            if act == Act.JUDGE_FIX:
                return "Only the reporter (or, for an anonymous report, the team's lead) can say whether the fix worked."
            holding = await self.dir.team(target.holding_team_id)
            name = holding.name if holding else "the holding team"
            return f"Only the lead or liaison of {name}, or a lead of a team above it, can decide on #{target.id}."
        if act == Act.REPORT:
            return "You can only report to a team you belong to."
        if act == Act.USE_AGENDA:
            return f"Only members of {target.name} can use its agenda."
        if act == Act.ADMINISTER:
            return "Only Looplink's admins (the org file's admins list) can do that."
        return f"Only the leads of {target.name} can do that."

    async def teams_where(self, person_id: str, act: Act) -> list[Team]:
        """The active teams on which `person_id` may do `act`, in membership order."""
        out: list[Team] = []
        for m in await self.dir.memberships(person_id):
            team = await self.dir.team(m.team_id)
            if team is not None and team.active and await self.may(person_id, act, team):
                out.append(team)
        return out

    async def audience(self, team: Team, act: Act) -> list[Person]:
        """The team's active members who may do `act` on it, leads first, then by name."""
        members = [(p, r) for p, r in await self.dir.members(team.id) if role_allows(act, r)]
        members.sort(key=lambda pr: (pr[1] != Role.LEAD, pr[0].name))
        return [p for p, _r in members]
