"""Typed decisions: each decision is a value that carries only what it needs.

`Loop.decide(actor, item, decision)` takes one of these and runs its own handler (a `match`
in `bot.engine`, checked for exhaustiveness by mypy). `decision_of` builds one from what a
person submitted (a button's or a form's strings). Every decision may carry a note for the
audit log; for resolve, decline, escalate and ask-info the note is required (`NOTE_REQUIRED`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.domain import Decision
from bot.errors import InvalidInput


@dataclass(frozen=True)
class Acknowledge:
    """The holding team has it in hand."""

    note: str = ""
    kind: ClassVar[Decision] = Decision.ACKNOWLEDGE


@dataclass(frozen=True)
class Assign:
    """Make `owner` (a person token: id, @name, email, platform id) the item's owner."""

    owner: str
    note: str = ""
    kind: ClassVar[Decision] = Decision.ASSIGN


@dataclass(frozen=True)
class Resolve:
    """Solved at this level; `note` is the resolution, relayed down to everyone."""

    note: str
    kind: ClassVar[Decision] = Decision.RESOLVE


@dataclass(frozen=True)
class Decline:
    """Not taken up; `note` is the rationale, relayed down to everyone."""

    note: str
    kind: ClassVar[Decision] = Decision.DECLINE


@dataclass(frozen=True)
class Escalate:
    """Send it to the linked team above; `note` says why it cannot be solved here."""

    note: str
    kind: ClassVar[Decision] = Decision.ESCALATE


@dataclass(frozen=True)
class AskInfo:
    """Ask the reporter a question (relayed anonymously for anonymous reports)."""

    note: str
    kind: ClassVar[Decision] = Decision.ASK_INFO


@dataclass(frozen=True)
class Merge:
    """The same issue as item `into` (a number, '#12' or '12'); this one closes."""

    into: str
    note: str = ""
    kind: ClassVar[Decision] = Decision.MERGE


Decided = Acknowledge | Assign | Resolve | Decline | Escalate | AskInfo | Merge

# Decisions that need more than a click: a form asks for their note, owner or target first.
NEEDS_FORM = frozenset(
    {
        Decision.ASSIGN,
        Decision.RESOLVE,
        Decision.DECLINE,
        Decision.ESCALATE,
        Decision.ASK_INFO,
        Decision.MERGE,
    }
)


def decision_kind(raw: str, out_of_date: str) -> Decision:
    """The decision a button or form names; `out_of_date` is said when it names none."""
    try:
        return Decision(raw)
    except ValueError as e:
        raise InvalidInput(out_of_date) from e


def decision_of(
    kind: Decision, note: str | None = "", *, owner: str | None = "", merge_into: str | None = ""
) -> Decided:
    """The typed decision for what a person submitted (strings from a button or form)."""
    text = note or ""
    match kind:
        case Decision.ACKNOWLEDGE:
            return Acknowledge(text)
        case Decision.ASSIGN:
            return Assign(owner or "", text)
        case Decision.RESOLVE:
            return Resolve(text)
        case Decision.DECLINE:
            return Decline(text)
        case Decision.ESCALATE:
            return Escalate(text)
        case Decision.ASK_INFO:
            return AskInfo(text)
        case Decision.MERGE:
            return Merge(merge_into or "", text)
