"""What the dashboard shows, read from the database in a fixed number of queries.

Figures come from `bot.metrics` (so the dashboard and the digests agree). The barrier paths
are the hops and the audit log made visible; an anonymous reporter is never named: the
reporter shows as "Anonymous", and who took each step follows `bot.attribution`, the rule
every surface shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attribution import Shown, shown
from bot.cards import STATE_LABELS
from bot.db.models import AuditEvent, Hop, Item, Person, Setting, Team
from bot.domain import DRIVER_LABELS, OPEN_STATES, OUTCOME_LABELS, Driver, Outcome, State
from bot.metrics import (
    TeamStats,
    breakdown,
    link_response_times,
    opened_vs_resolved,
    team_stats,
)
from bot.outbox_admin import Undelivered, anonymous_safe, undelivered
from bot.similar.views import ClusterLine, clusters
from bot.similar.views import line as cluster_line

HIDDEN = "Not shown (anonymous report)"
REPORTER_LABEL = "Anonymous reporter"
ACTION_LABELS = {
    "reported": "reported",
    "acknowledge": "acknowledged",
    "assign": "assigned an owner",
    "resolve": "resolved",
    "escalate": "escalated",
    "ask_info": "asked the reporter",
    "info_provided": "reporter answered",
    "decline": "declined",
    "merge": "merged",
    "feedback": "follow-up",
    "linked": "linked to a similar item",
    "voice_added": "reporter added their voice to a similar item",
    "imported": "imported",
}


def short(team_name: str) -> str:
    """'Lincoln Elementary Implementation Team' -> 'Lincoln Elementary' (for tight places)."""
    for suffix in (" Implementation Team",):
        if team_name.endswith(suffix) and len(team_name) > len(suffix):
            return team_name[: -len(suffix)]
    return team_name


def team_tree(teams: Iterable[Team]) -> list[tuple[Team, int]]:
    """Teams depth first from the top (state, then each district and its buildings)."""
    all_teams = list(teams)
    ids = {t.id for t in all_teams}
    children: dict[str | None, list[Team]] = {}
    for t in all_teams:
        parent = t.parent_id if t.parent_id in ids else None
        children.setdefault(parent, []).append(t)
    out: list[tuple[Team, int]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for t in sorted(children.get(parent, []), key=lambda t: t.name):
            if t.id in seen:
                continue
            seen.add(t.id)
            out.append((t, depth))
            walk(t.id, depth + 1)

    walk(None, 0)
    for t in all_teams:  # a cycle in the links would hide teams; never hide them
        if t.id not in seen:
            out.append((t, 0))
    return out


@dataclass
class TeamRow:
    team: Team
    depth: int
    stats: TeamStats


@dataclass
class PathStep:
    team_name: str
    arrived_at: datetime
    due_at: datetime | None
    left_at: datetime | None
    note: str
    told_at: datetime | None
    decided: str = ""  # "resolved", "declined", ... when the item was closed here


@dataclass
class AuditRow:
    at: datetime
    team_name: str
    action: str
    actor: str
    from_state: str
    to_state: str
    note: str


@dataclass
class ItemPath:
    item: Item
    reporter: str  # a name, or "Anonymous"
    state_label: str
    driver_label: str
    steps: list[PathStep] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.item.state in OPEN_STATES


@dataclass
class Dashboard:
    org: str
    tz: str
    now: datetime
    rows: list[TeamRow]
    drivers: list[tuple[str, int]]
    affected: list[tuple[str, int]]
    weeks: list[tuple[str, int, int]]
    links: list[tuple[str, str, float | None, int]]
    paths: list[ItemPath]
    total_items: int
    undelivered: list[Undelivered] = field(default_factory=list)  # parked or failed messages
    clusters: list[ClusterLine] = field(default_factory=list)  # similar open barriers
    cluster_teams: list[list[str]] = field(default_factory=list)  # each one's team names


async def load(s: AsyncSession, now: datetime, limit: int = 50) -> Dashboard:
    teams = {t.id: t for t in (await s.scalars(select(Team))).all()}
    stats = await team_stats(s, now)
    rows = [
        TeamRow(t, depth, stats.get(t.id) or TeamStats(t.id))
        for t, depth in team_tree(t for t in teams.values() if t.active)
    ]
    counts = await breakdown(s)
    drivers = [(_driver_label(k), v) for k, v in counts["driver"].most_common()]
    affected = [(k.capitalize(), v) for k, v in counts["affected"].most_common()]
    weeks = await opened_vs_resolved(s, now)
    links = [
        (_name(teams, low), _name(teams, high), median, n)
        for low, high, median, n in await link_response_times(s)
    ]
    paths, total = await item_paths(s, teams, limit)
    settings = {r.key: r.value for r in (await s.scalars(select(Setting))).all()}
    found = await clusters(s, now, limit=10)
    return Dashboard(
        org=str(settings.get("organization") or "Looplink"),
        tz=str(settings.get("timezone") or "UTC"),
        now=now,
        rows=rows,
        drivers=drivers,
        affected=affected,
        weeks=weeks,
        links=links,
        paths=paths,
        total_items=total,
        undelivered=anonymous_safe(await undelivered(s, limit=100)),
        clusters=[cluster_line(c) for c in found],
        cluster_teams=[[short(t.name) for t in c.teams] for c in found],
    )


def _name(teams: dict[str, Team], team_id: str | None) -> str:
    if team_id is None:
        return ""
    t = teams.get(team_id)
    return t.name if t else team_id


def _outcome(value: str) -> str:
    try:
        return OUTCOME_LABELS[Outcome(value)]
    except ValueError:
        return value


def _driver_label(value: str | None) -> str:
    try:
        return DRIVER_LABELS[Driver(value or "other")]
    except ValueError:
        return str(value)


async def item_paths(
    s: AsyncSession, teams: dict[str, Team], limit: int
) -> tuple[list[ItemPath], int]:
    """The most recent items with the teams they passed and their audit log."""
    total = int(await s.scalar(select(func.count()).select_from(Item)) or 0)
    items = (await s.scalars(select(Item).order_by(Item.id.desc()).limit(limit))).all()
    if not items:
        return [], total
    ids = [i.id for i in items]
    hops = (
        await s.scalars(select(Hop).where(Hop.item_id.in_(ids)).order_by(Hop.item_id, Hop.seq))
    ).all()
    events = (
        await s.scalars(
            select(AuditEvent).where(AuditEvent.item_id.in_(ids)).order_by(AuditEvent.id)
        )
    ).all()
    named = {i.reporter_id for i in items if not i.anonymous}
    named |= {e.actor_id for e in events if e.actor_id}
    people = {
        p.id: p.name
        for p in (await s.scalars(select(Person).where(Person.id.in_(named or {""})))).all()
    }
    by_item: dict[int, ItemPath] = {}
    for i in items:
        try:
            state_label = STATE_LABELS[State(i.state)]
        except ValueError:
            state_label = i.state
        by_item[i.id] = ItemPath(
            item=i,
            reporter="Anonymous" if i.anonymous else people.get(i.reporter_id, i.reporter_id),
            state_label=state_label,
            driver_label=_driver_label(i.driver),
        )
    for h in hops:
        path = by_item[h.item_id]
        decided = ""
        if path.item.closed_by_team_id == h.team_id and h.left_at is None:
            decided = path.item.state
        path.steps.append(
            PathStep(
                team_name=_name(teams, h.team_id),
                arrived_at=h.arrived_at,
                due_at=h.due_at,
                left_at=h.left_at,
                note=h.escalation_note,
                told_at=h.told_at,
                decided=decided,
            )
        )
    for e in events:
        path = by_item[e.item_id]
        path.audit.append(
            AuditRow(
                at=e.at,
                team_name=_name(teams, e.team_id),
                action=ACTION_LABELS.get(e.action, e.action.replace("_", " ")),
                actor=actor_label(path.item, e),
                from_state=(e.from_state or "").replace("_", " "),
                to_state=e.to_state.replace("_", " "),
                note=_outcome(e.note) if e.action == "feedback" else e.note,
            )
        )
        if path.audit[-1].actor not in (REPORTER_LABEL, "Looplink", HIDDEN):
            path.audit[-1].actor = people.get(path.audit[-1].actor, path.audit[-1].actor)
    return [by_item[i] for i in ids], total


def actor_label(item: Item, e: AuditEvent) -> str:
    """Who did it, as every surface shows it (bot.attribution): never the reporter of an
    anonymous item as such, and their decisions exactly like anyone else's."""
    how = shown(item.anonymous, e.action, e.actor_id)
    if how is Shown.REPORTER:
        return REPORTER_LABEL
    if how is Shown.NOBODY:
        return HIDDEN
    if how is Shown.LOOPLINK or e.actor_id is None:
        return "Looplink"
    return e.actor_id
