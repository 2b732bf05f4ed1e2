"""One guarded path for every change on an item: claim it first.

Every state change on an item (a decision: acknowledge, assign, resolve, decline, escalate,
ask, merge; a link or a reporter's voice; the reporter's answer; the fix-worked answer)
starts with `claim`: one compare-and-set UPDATE that bumps `items.version` only while it is
still the version this request read. Why a version and not `SELECT ... FOR UPDATE`:

- it is the same statement on SQLite and PostgreSQL (SQLite has no row locks);
- on PostgreSQL the UPDATE also takes the row lock, so from the claim to the commit this
  request is the only one changing the item; a second request's UPDATE waits for the first to
  commit, then finds another version and changes nothing (READ COMMITTED re-checks the WHERE
  on the new row). A plain row lock alone would let the second request, after the wait, act
  on what it re-reads: an item the first one already escalated would be escalated again;
- the version is also what a decision form carries (`seen_context`): a form opened before
  the item moved on is refused however long ago that was, not only during a race.

The loser of a claim (or a stale form) gets `MovedOn`: a polite "already decided by X; here
is where it is now" from the template `item_moved_on`, X shown by bot/attribution.py's rule.
`guard` (a flush hook on every session) refuses a change to an item's decision columns that
did not claim the item first, so a new code path cannot skip this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.attribution import Shown, shown
from bot.cards import state_label
from bot.db.models import AuditEvent, Item, Person, Team
from bot.errors import InvalidState
from bot.texts import texts

CLAIMED = "looplink_claimed"  # Session.info key: ids of the items this transaction claimed
GUARDED = (
    "state",
    "holding_team_id",
    "owner_id",
    "response",
    "merged_into_id",
    "closed_at",
    "closed_by_team_id",
    "outcome",
)


class MovedOn(InvalidState):
    """The item is not as this request saw it: someone decided first, or the form is stale."""


class Unclaimed(RuntimeError):
    """A code path changed an item without claiming it (a bug: see `guard`)."""


@dataclass(frozen=True)
class Seen:
    """What a decision form showed when it opened: the holding team and the item's version."""

    team: str
    version: int

    @classmethod
    def of(cls, context: Mapping[str, str]) -> Seen | None:
        """From a submitted form's context; None for a form older than versions."""
        team, version = context.get("team", ""), context.get("version", "")
        if not team or not version.isdigit():
            return None
        return cls(team, int(version))


def seen_context(item: Item) -> dict[str, str]:
    """What a decision form carries so that a stale submission can be told apart."""
    return {"team": item.holding_team_id, "version": str(item.version)}


async def claim(s: AsyncSession, item: Item, seen: Seen | None = None, note: str = "") -> None:
    """Make this transaction the one that changes `item`, or raise MovedOn (see the module)."""
    claimed: set[int] = s.info.setdefault(CLAIMED, set())
    if seen is not None and (seen.version != item.version or seen.team != item.holding_team_id):
        raise await moved_on(s, item, note)
    if item.id in claimed:
        return  # claimed earlier in this transaction (a cluster response, a merge target)
    done = await s.execute(
        update(Item)
        .where(Item.id == item.id, Item.version == item.version)
        .values(version=item.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(done, "rowcount", 0):
        await s.refresh(item)  # what the request that got there first made of it
        raise await moved_on(s, item, note)
    set_committed_value(item, "version", item.version + 1)
    claimed.add(item.id)


async def moved_on(s: AsyncSession, item: Item, note: str = "") -> MovedOn:
    """The polite refusal: who changed the item last and where it is now."""
    last = (
        await s.scalars(
            select(AuditEvent)
            .where(AuditEvent.item_id == item.id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).first()
    action = last.action if last is not None else ""
    who = await _who(s, item, last)
    holding = await s.get(Team, item.holding_team_id)
    text = texts().render(
        "item_moved_on",
        item=item,
        action=action,
        who=who,
        holding=holding,
        state_label=state_label(item.state),
        note=note,
    )
    return MovedOn(text.strip())


async def _who(s: AsyncSession, item: Item, last: AuditEvent | None) -> str:
    if last is None:
        return texts().render("who", shown="looplink", person="").strip()
    how = shown(item.anonymous, last.action, last.actor_id)
    person = await s.get(Person, last.actor_id) if how is Shown.PERSON and last.actor_id else None
    name = person.name if person is not None else ""
    return texts().render("who", shown=how.value, person=name).strip()


def guard(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse to flush a change to an item's decision columns that was not claimed first."""
    claimed = session.info.get(CLAIMED, set())
    for obj in session.dirty:
        if not isinstance(obj, Item) or obj.id in claimed:
            continue
        state = inspect(obj)
        changed = [c for c in GUARDED if state.attrs[c].history.has_changes()]
        if changed:
            raise Unclaimed(f"item #{obj.id} changed ({', '.join(changed)}) without a claim")
