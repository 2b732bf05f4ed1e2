"""What templates may see: read-only view models, never database objects.

Every template (the wording in bot/templates, an organisation's overrides from
LOOPLINK_TEMPLATES_DIR, the playground and dashboard pages) gets its context through
`template_context`, which turns each database object into a frozen view holding only what a
reader of the message may see, and refuses any value it does not know:

- `ItemView` has no reporter and no platform ids: a template cannot print who reported an
  item, anonymous or not. A call that wants to name a reporter passes the person separately,
  as `reporter=`, and for an anonymous item in the same context that is always None:
  `template_context(item=anonymous_item, reporter=carol)` gives the template `reporter=None`.
  The same person in another role (`giver=` of kudos, a decider) is shown as anyone else in
  that role would be: hiding them only there would single them out (bot/attribution.py).
- `PersonView` is a name and the org id (`@alice`), never emails or platform ids.

Plain values (text, numbers, dates, enums), lists, tuples, dicts, our own dataclasses (walked,
field by field) and plain functions pass; anything else is a TypeError, so a new kind of
object cannot slip into a template unnoticed.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from markupsafe import Markup

from bot.db.models import AgendaItem, AuditEvent, Base, Hop, Item, Kudos, Person, Team


@dataclasses.dataclass(frozen=True)
class PersonView:
    id: str
    name: str
    language: str
    active: bool


@dataclasses.dataclass(frozen=True)
class TeamView:
    id: str
    name: str
    level: str
    parent_id: str | None
    response_days: int
    timezone: str
    meeting_schedule: str | None
    agenda_before_minutes: int
    digest_schedule: str
    active: bool


@dataclasses.dataclass(frozen=True)
class ItemView:
    id: int
    kind: str
    summary: str
    details: str
    affected: tuple[str, ...]
    subgroup: str
    driver: str
    stage: str
    tried: str
    suggestion: str
    urgency: str
    anonymous: bool
    origin_team_id: str
    holding_team_id: str
    state: str
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    closed_by_team_id: str | None
    response: str
    merged_into_id: int | None
    owner_id: str | None
    reporter_told_at: datetime | None
    outcome: str | None
    outcome_at: datetime | None
    follow_up_sent_at: datetime | None
    source: str
    locus: str = ""  # bot.domain.Locus, or "" when not said
    evidence: str = ""  # how the reporter knows
    reporter_ack: str | None = None  # "got_it" / "question"
    reporter_ack_at: datetime | None = None
    revisited_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class AuditView:
    """One audit event, without its actor (who did it is decided where it is shown)."""

    action: str
    at: datetime
    from_state: str | None
    to_state: str
    team_id: str | None
    note: str


@dataclasses.dataclass(frozen=True)
class HopView:
    team_id: str
    seq: int
    arrived_at: datetime
    due_at: datetime | None
    left_at: datetime | None
    told_at: datetime | None
    escalation_note: str


@dataclasses.dataclass(frozen=True)
class KudosView:
    text: str
    driver: str | None
    item_id: int | None
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class AgendaEntryView:
    """An agenda item or action item (who added it is not shown in chat answers)."""

    id: int
    kind: str
    text: str
    due_on: date | None


def agenda_entry_view(a: AgendaItem) -> AgendaEntryView:
    return AgendaEntryView(a.id, a.kind, a.text, a.due_on)


def person_view(p: Person) -> PersonView:
    return PersonView(p.id, p.name, p.language, p.active)


def team_view(t: Team) -> TeamView:
    return TeamView(
        t.id,
        t.name,
        t.level,
        t.parent_id,
        t.response_days,
        t.timezone,
        t.meeting_schedule,
        t.agenda_before_minutes,
        t.digest_schedule,
        t.active,
    )


def item_view(i: Item) -> ItemView:
    return ItemView(
        id=i.id,
        kind=i.kind,
        summary=i.summary,
        details=i.details,
        affected=tuple(str(a) for a in i.affected or ()),
        subgroup=i.subgroup,
        driver=i.driver,
        stage=i.stage,
        tried=i.tried,
        suggestion=i.suggestion,
        urgency=i.urgency,
        anonymous=bool(i.anonymous),
        origin_team_id=i.origin_team_id,
        holding_team_id=i.holding_team_id,
        state=i.state,
        due_at=i.due_at,
        created_at=i.created_at,
        updated_at=i.updated_at,
        closed_at=i.closed_at,
        closed_by_team_id=i.closed_by_team_id,
        response=i.response,
        merged_into_id=i.merged_into_id,
        owner_id=i.owner_id,
        reporter_told_at=i.reporter_told_at,
        outcome=i.outcome,
        outcome_at=i.outcome_at,
        follow_up_sent_at=i.follow_up_sent_at,
        source=i.source,
        locus=i.locus or "",
        evidence=i.evidence or "",
        reporter_ack=i.reporter_ack,
        reporter_ack_at=i.reporter_ack_at,
        revisited_at=i.revisited_at,
    )


def audit_view(a: AuditEvent) -> AuditView:
    return AuditView(a.action, a.at, a.from_state, a.to_state, a.team_id, a.note)


def hop_view(h: Hop) -> HopView:
    return HopView(
        h.team_id, h.seq, h.arrived_at, h.due_at, h.left_at, h.told_at, h.escalation_note
    )


def kudos_view(k: Kudos) -> KudosView:
    return KudosView(k.text, k.driver, k.item_id, k.created_at)


VIEWS: dict[type[Any], Callable[[Any], Any]] = {
    Person: person_view,
    Team: team_view,
    Item: item_view,
    AuditEvent: audit_view,
    Hop: hop_view,
    Kudos: kudos_view,
    AgendaItem: agenda_entry_view,
}
PLAIN = (str, int, float, bool, type(None), date, datetime, time, timedelta, Decimal, Enum, Markup)
PLAIN_TYPES = frozenset((str, int, float, bool, type(None), date, datetime, time, timedelta))


class _Converter:
    def __init__(self) -> None:
        self.seen: dict[int, Any] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, PLAIN):
            return value
        key = id(value)
        if key in self.seen:
            return self.seen[key]
        out = self._convert(value)
        self.seen[key] = out
        return out

    def _convert(self, value: Any) -> Any:  # noqa: C901 - one case per kind of value
        if isinstance(value, Base):
            make = VIEWS.get(type(value))
            if make is None:
                raise TypeError(
                    f"a {type(value).__name__} row was passed to a template; give it a view "
                    "model in bot/views.py holding only what its readers may see"
                )
            return make(value)
        if isinstance(value, _FROZEN_VIEWS):
            return value
        if isinstance(value, list | tuple | set | frozenset):
            if all(type(v) in PLAIN_TYPES for v in value):  # figures: nothing to convert
                return value
            items = [self(v) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return type(value)(items) if not isinstance(value, tuple) else tuple(items)
        if isinstance(value, Mapping):
            converted = {k: self(v) for k, v in value.items()}
            if all(converted[k] is v for k, v in value.items()):
                return value
            return converted
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for f in dataclasses.fields(value):
                if not f.init:
                    continue
                old = getattr(value, f.name)
                new = self(old)
                if new is not old:
                    changes[f.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        if isinstance(value, types.FunctionType | types.BuiltinFunctionType | types.MethodType):
            return value  # a helper the caller chose to hand over (e.g. a nonce maker)
        raise TypeError(
            f"a {type(value).__name__} was passed to a template; templates get view models "
            "(bot/views.py), plain values, lists, dicts and dataclasses"
        )


_FROZEN_VIEWS = (PersonView, TeamView, ItemView, AuditView, HopView, KudosView, AgendaEntryView)


REPORTER_KEYS = ("reporter",)  # the names under which a caller passes an item's reporter


def _anonymous(value: Any) -> bool:
    return isinstance(value, Item | ItemView) and bool(value.anonymous)


def template_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as templates may see it (see the module docstring)."""
    convert = _Converter()
    out = {k: convert(v) for k, v in context.items()}
    if any(_anonymous(v) for v in context.values()):
        for key in REPORTER_KEYS:
            if key in out:
                out[key] = None
    return out
