"""What the dashboard shows, read from the database in a fixed number of queries.

Figures come from `bot.metrics` (so the dashboard and the digests agree). The barrier paths
are the hops and the audit log made visible; an anonymous reporter is never named: the
reporter shows as "Anonymous", and who took each step follows `bot.attribution`, the rule
every surface shares.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.attribution import Shown, shown
from bot.cards import STATE_LABELS
from bot.content.common import selfcheck_summary
from bot.db.models import AuditEvent, Hop, Item, Person, Setting, Team
from bot.domain import (
    DRIVER_LABELS,
    OPEN_STATES,
    OUTCOME_LABELS,
    Affected,
    Driver,
    Outcome,
    State,
    affected_word,
    state_word,
)
from bot.i18n import N_, _
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
from bot.visibility import below

# English message ids, translated where a page is built (the request's reader, page_language).
HIDDEN = N_("Not shown (anonymous report)")
REPORTER_LABEL = N_("Anonymous reporter")
ACTION_LABELS = {
    "reported": N_("reported"),
    "acknowledge": N_("acknowledged"),
    "assign": N_("assigned an owner"),
    "resolve": N_("resolved"),
    "escalate": N_("escalated"),
    "ask_info": N_("asked the reporter"),
    "info_provided": N_("reporter answered"),
    "decline": N_("declined"),
    "merge": N_("merged"),
    "feedback": N_("follow-up"),
    "linked": N_("linked to a similar item"),
    "voice_added": N_("reporter added their voice to a similar item"),
    "imported": N_("imported"),
}


def days(median: float | None, raw: list[float] | None = None) -> str:
    """A median in days as people read it: "—" for none, "under 0.1" rather than "0.0"."""
    if raw:
        median = statistics.median(raw)
    if median is None:
        return "—"
    if median < 0.05:
        return _("under %(figure)s days", figure=i18n.number(0.1))
    return i18n.days(median)


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
    selfcheck: str = ""  # the meeting self-check and pulse, aggregated, with their trend


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

    @property
    def decided_word(self) -> str:
        """How the item was closed ("resolved" / "resuelto"), for the step that closed it."""
        return state_word(self.item.state)

    @property
    def affected_words(self) -> str:
        """Who it affects, in the reader's words ("students, families")."""
        return ", ".join(affected_word(a) for a in self.item.affected or [])

    @property
    def outcome_label(self) -> str:
        """What the reporter said the fix did, in the reader's words."""
        return _outcome(self.item.outcome or "").lower()


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
    subgroups: list[tuple[str, int]] = field(default_factory=list)  # free-text "who" groups
    stuck: list[TeamRow] = field(default_factory=list)  # teams with overdue items
    filters: Filters | None = None
    team_choices: list[tuple[str, str, int]] = field(default_factory=list)  # id, name, depth
    undelivered: list[Undelivered] = field(default_factory=list)  # parked or failed messages
    clusters: list[ClusterLine] = field(default_factory=list)  # similar open barriers
    cluster_teams: list[list[str]] = field(default_factory=list)  # each one's team names


PERIODS = (0, 7, 30, 90, 365)  # days back; 0: all time
SUBGROUP = "subgroup:"  # an `affected` filter on the free-text subgroup


@dataclass(frozen=True)
class Filters:
    """What a leader narrowed the dashboard to (the URL's query; every value checked)."""

    team: str = ""  # a team id: it and the teams below it
    driver: str = ""  # an implementation driver's value
    affected: str = ""  # "students", "families", "staff", or "subgroup:<text>"
    period: int = 0  # days back; 0: all time

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        driver = query.get("driver", "")
        affected = query.get("affected", "")[:200]
        period = query.get("period", "0")
        return cls(
            team=query.get("team", "")[:64],
            driver=driver if driver in {d.value for d in Driver} else "",
            affected=affected
            if affected in {a.value for a in Affected} or affected.startswith(SUBGROUP)
            else "",
            period=int(period) if period.isdigit() and int(period) in PERIODS else 0,
        )

    def since(self, now: datetime) -> datetime | None:
        return now - timedelta(days=self.period) if self.period else None

    def query(self) -> dict[str, str]:
        """These filters as a URL query (for the CSV link: exactly what is on screen)."""
        out = {"team": self.team, "driver": self.driver, "affected": self.affected}
        out["period"] = str(self.period) if self.period else ""
        return {k: v for k, v in out.items() if v}


def item_ids(f: Filters, teams: set[str] | None, now: datetime) -> Select[Any]:
    """The ids of the items on a dashboard: through one of `teams` (None: any), matching `f`."""
    q = select(Item.id)
    if teams is not None:
        q = q.where(Item.id.in_(select(Hop.item_id).where(Hop.team_id.in_(teams or {""}))))
    if (since := f.since(now)) is not None:
        q = q.where(Item.created_at >= since)
    if f.driver:
        q = q.where(Item.driver == f.driver)
    if f.affected.startswith(SUBGROUP):
        group = " ".join(f.affected.removeprefix(SUBGROUP).split()).lower()
        q = q.where(func.lower(func.trim(Item.subgroup)) == group)
    elif f.affected:  # one of three known words, quoted as the JSON list stores it
        q = q.where(cast(Item.affected, String).like(f'%"{f.affected}"%'))
    return q


async def load(
    s: AsyncSession,
    now: datetime,
    limit: int = 50,
    scope: frozenset[str] | None = None,
    f: Filters = Filters(),
) -> Dashboard:
    """The dashboard of the teams in `scope` (None: the whole organisation), narrowed by `f`
    (its team must be within scope: the caller checks)."""
    teams = {t.id: t for t in (await s.scalars(select(Team))).all()}
    shown_teams: set[str] | None = None if scope is None else set(scope)
    if f.team:
        shown_teams = below(teams.values(), f.team) & (shown_teams or set(teams))
    since = f.since(now)
    stats = await team_stats(s, now, since=since, team_ids=_list(shown_teams))
    active = [
        t for t in teams.values() if t.active and (shown_teams is None or t.id in shown_teams)
    ]
    rows = [
        TeamRow(t, depth, stats.get(t.id) or TeamStats(t.id), await selfcheck_summary(s, t))
        for t, depth in team_tree(active)
    ]
    within = item_ids(f, shown_teams, now)
    counts = await breakdown(s, within=within)
    links = [
        (_name(teams, low), _name(teams, high), median, n)
        for low, high, median, n in await link_response_times(s, within=within)
    ]
    paths, total = await item_paths(s, teams, limit, within)
    settings = {r.key: r.value for r in (await s.scalars(select(Setting))).all()}
    found = await clusters(s, now, limit=10)
    if shown_teams is not None:
        found = [c for c in found if {t.id for t in c.teams} <= shown_teams]
    return Dashboard(
        org=str(settings.get("organization") or "Looplink"),
        tz=str(settings.get("timezone") or "UTC"),
        now=now,
        rows=rows,
        drivers=[(_driver_label(k), v) for k, v in counts["driver"].most_common()],
        affected=[(affected_word(k).capitalize(), v) for k, v in counts["affected"].most_common()],
        subgroups=counts["subgroup"].most_common(),
        weeks=await opened_vs_resolved(s, now, within=within),
        links=links,
        paths=paths,
        total_items=total,
        undelivered=anonymous_safe(await undelivered(s, limit=100)) if scope is None else [],
        clusters=[cluster_line(c) for c in found],
        cluster_teams=[[short(t.name) for t in c.teams] for c in found],
        stuck=stuck_teams(rows),
        filters=f,
        team_choices=[(t.id, short(t.name), depth) for t, depth in team_tree(active)],
    )


def _list(teams: set[str] | None) -> list[str] | None:
    return None if teams is None else sorted(teams)


def stuck_teams(rows: list[TeamRow]) -> list[TeamRow]:
    """Teams with overdue items, most overdue first: where the system is stuck."""
    return sorted((r for r in rows if r.stats.overdue), key=lambda r: -r.stats.overdue)


def _name(teams: dict[str, Team], team_id: str | None) -> str:
    if team_id is None:
        return ""
    t = teams.get(team_id)
    return t.name if t else team_id


def _outcome(value: str) -> str:
    try:
        return _(OUTCOME_LABELS[Outcome(value)])
    except ValueError:
        return value


def _driver_label(value: str | None) -> str:
    try:
        return _(DRIVER_LABELS[Driver(value or "other")])
    except ValueError:
        return str(value)


async def item_paths(
    s: AsyncSession,
    teams: dict[str, Team],
    limit: int,
    within: Select[Any] | None = None,
) -> tuple[list[ItemPath], int]:
    """The most recent items (among those `within` selects) with the teams they passed and
    their audit log."""
    count = select(func.count()).select_from(Item)
    latest = select(Item).order_by(Item.id.desc()).limit(limit)
    if within is not None:
        count, latest = count.where(Item.id.in_(within)), latest.where(Item.id.in_(within))
    total = int(await s.scalar(count) or 0)
    items = (await s.scalars(latest)).all()
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
            state_label = _(STATE_LABELS[State(i.state)])
        except ValueError:
            state_label = i.state
        by_item[i.id] = ItemPath(
            item=i,
            reporter=_("Anonymous") if i.anonymous else people.get(i.reporter_id, i.reporter_id),
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
                action=_(ACTION_LABELS[e.action])
                if e.action in ACTION_LABELS
                else e.action.replace("_", " "),
                actor=actor_label(path.item, e),
                from_state=state_word(e.from_state) if e.from_state else "",
                to_state=state_word(e.to_state),
                note=_outcome(e.note) if e.action == "feedback" else e.note,
            )
        )
        if path.audit[-1].actor not in (_(REPORTER_LABEL), "Looplink", _(HIDDEN)):
            path.audit[-1].actor = people.get(path.audit[-1].actor, path.audit[-1].actor)
    return [by_item[i] for i in ids], total


def actor_label(item: Item, e: AuditEvent) -> str:
    """Who did it, as every surface shows it (bot.attribution): never the reporter of an
    anonymous item as such, and their decisions exactly like anyone else's."""
    how = shown(item.anonymous, e.action, e.actor_id)
    if how is Shown.REPORTER:
        return _(REPORTER_LABEL)
    if how is Shown.NOBODY:
        return _(HIDDEN)
    if how is Shown.LOOPLINK or e.actor_id is None:
        return "Looplink"
    return e.actor_id
