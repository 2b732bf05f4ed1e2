"""What scheduled messages say: pure async builders from live data, worded by templates.

    build_agenda(session, team, now)    the standing agenda for the team's next meeting
    build_digest(session, team, now)    the weekly digest for the team's lead and liaisons
    build_roundup(session, team, now)   the week's recognition, for the team channel
    build_progress(session, team, now)  where the program stands and what the loop achieved

They only read (nothing is sent or stamped here) and render `bot/templates/<name>.j2`. A
template may set its message title with `{% set title = "..." %}` at top level.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Hop, Item, Person, Team
from bot.directory import Directory
from bot.domain import STAGE_LABELS, Kind, Role, Stage, State
from bot.messages import Message
from bot.metrics import SharedStats, TeamStats, breakdown, team_stats
from bot.schedule import CronError, parse_cron
from bot.texts import texts
from scheduler.triggers import TICK, last_fire_at_or_before, next_fire_after
from scheduler.views import (
    OPEN,
    ItemView,
    Section,
    agenda_items,
    all_hops,
    capped,
    count_before,
    items_where,
    load_names,
    names_for,
    resolved_through,
    section,
    team_hops,
    team_kudos,
    through,
    view,
    views,
)

WEEK = timedelta(days=7)
LOOP_WINDOW = timedelta(days=90)  # "how the loop is doing" looks at the last 90 days
MILESTONES = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def render(name: str, **context: Any) -> Message:
    """Render a template into a Message; its top-level `title` variable becomes the title."""
    text, title = texts().module(name, **context)
    return Message(title=title, text=text)


# ---- shared pieces -----------------------------------------------------------------------


@dataclass
class Roles:
    lead: str
    facilitator: str
    notes: str
    data: str
    coach: str
    liaisons: list[str]


def roles_of(members: list[tuple[Person, str]]) -> Roles:
    by_role: dict[str, list[str]] = {}
    for person, role in members:
        by_role.setdefault(role, []).append(person.name)

    def first(role: Role, fallback: str = "") -> str:
        return (by_role.get(role.value) or [fallback])[0]

    lead = first(Role.LEAD)
    return Roles(
        lead=lead,
        facilitator=first(Role.FACILITATOR, lead),
        notes=first(Role.NOTES),
        data=first(Role.DATA),
        coach=first(Role.COACH),
        liaisons=by_role.get(Role.LIAISON.value, []),
    )


@dataclass
class Measure:
    name: str
    value: str
    target: str = ""
    as_of: str = ""


def measures_of(team: Team) -> list[Measure]:
    """Figures the team tracks, from the org file's team key `measures`."""
    raw = (team.extra or {}).get("measures") or []
    out = []
    for m in raw if isinstance(raw, list) else []:
        if isinstance(m, dict) and m.get("name"):
            out.append(
                Measure(
                    str(m["name"]),
                    str(m.get("value", "-")),
                    str(m.get("target", "") or ""),
                    str(m.get("as_of", "") or ""),
                )
            )
    return out


def stage_of(team: Team) -> str:
    progress = (team.extra or {}).get("progress")
    stage = progress.get("stage") if isinstance(progress, dict) else None
    if not stage:
        return ""
    try:
        return STAGE_LABELS[Stage(str(stage))]
    except ValueError:
        return str(stage)


def percent(share: float | None) -> str:
    return "-" if share is None else f"{round(share * 100)}%"


# ---- the standing agenda -----------------------------------------------------------------


@dataclass
class Meetings:
    this: datetime | None  # the meeting the agenda is for
    previous: datetime | None
    following: datetime | None  # the one after this


def meetings(team: Team, now: datetime, meeting_at: datetime | None) -> Meetings:
    if not team.meeting_schedule:
        return Meetings(meeting_at, None, None)
    try:
        cron = parse_cron(team.meeting_schedule, team.timezone)
    except CronError:
        return Meetings(meeting_at, None, None)
    this = meeting_at or cron.get_next_fire_time(None, now)
    if this is None:
        return Meetings(None, None, None)
    return Meetings(this, last_fire_at_or_before(cron, this - TICK), next_fire_after(cron, this))


async def loop_figures(
    s: AsyncSession, team: Team, now: datetime, shared: SharedStats | None
) -> TeamStats:
    """The team's loop figures over LOOP_WINDOW; from `shared` when jobs run in a batch."""
    since = now - LOOP_WINDOW
    if shared is not None:
        return await shared.get(s, now, since, team.id)
    return (await team_stats(s, now, since=since, team_ids=[team.id]))[team.id]


async def build_agenda(
    session: AsyncSession,
    team: Team,
    now: datetime,
    meeting_at: datetime | None = None,
    shared: SharedStats | None = None,
) -> Message:
    """The standing agenda (DOMAIN.md's six sections) for the team's next meeting."""
    s = session
    m = meetings(team, now, meeting_at)
    since = m.previous or now - WEEK
    d = Directory(s)
    members = await d.members(team.id)
    topics, actions = await agenda_items(s, team.id, since)
    stats = await loop_figures(s, team, now, shared)

    held = (Item.holding_team_id == team.id, Item.state.in_(OPEN))
    new_rows, new_n = await capped(
        s, *held, Item.state.in_([State.NEW.value, State.ESCALATED.value])
    )
    open_rows, open_n = await capped(
        s,
        *held,
        Item.state.in_([State.ACKNOWLEDGED.value, State.NEEDS_INFO.value]),
        order_by=(Item.created_at, Item.id),
    )
    up_rows, up_n = await capped(s, *held, Item.kind == Kind.SUCCESS.value)
    passed = (through(team.id), Item.state.in_(OPEN), Item.holding_team_id != team.id)
    above_rows, above_n = await capped(s, *passed)
    chase_rows, chase_n = await capped(s, *passed, Item.due_at.is_not(None), Item.due_at < now)
    answered = await items_where(
        s,
        through(team.id),
        Item.closed_at.is_not(None),
        Item.closed_at >= since,
        Item.closed_by_team_id != team.id,
    )
    successes = await items_where(
        s, through(team.id), Item.kind == Kind.SUCCESS.value, Item.created_at >= since
    )
    kudos = await team_kudos(s, team.id, since)
    shown = new_rows + open_rows + up_rows + above_rows + chase_rows + answered + successes
    names = await names_for(s, shown, team.parent_id or "")
    people = await load_names(
        s, (), [a.added_by for a in topics + actions] + [a.owner_id for a in actions]
    )

    carry = await _carry_down(s, team, answered, names, now)
    parent = names.teams.get(team.parent_id or "")
    send_down: dict[str, list[ItemView]] = {}
    for v in carry:
        for who in v.carry_to:
            send_down.setdefault(who, []).append(v)

    return render(
        "agenda",
        team=team,
        tz=team.timezone,
        now=now,
        meeting=m,
        since=since,
        roles=roles_of(members),
        topics=[_agenda_line(a, people.person, since) for a in topics if a.done_at is None],
        actions=[_agenda_line(a, people.person, since) for a in actions],
        measures=measures_of(team),
        stats=stats,
        closed_share=percent(stats.closed_share),
        new=Section(views(new_rows, names, now), new_n),
        open=Section(views(open_rows, names, now), open_n),
        above=Section(views(above_rows, names, now), above_n),
        carry=section(carry),
        successes=section(views(successes, names, now)),
        kudos=section(kudos),
        parent=parent,
        send_up=Section(views(up_rows, names, now), up_n),
        chase=Section(views(chase_rows, names, now), chase_n),
        send_down={k: section(v) for k, v in sorted(send_down.items())},
    )


@dataclass
class AgendaLine:
    id: int
    kind: str
    text: str
    added_by: str
    owner: str
    created_at: datetime
    done: bool
    carried: bool  # it was already open at the last meeting


def _agenda_line(a: Any, person: Any, since: datetime) -> AgendaLine:
    return AgendaLine(
        id=a.id,
        kind=a.kind,
        text=a.text,
        added_by=person(a.added_by) if a.added_by else "",
        owner=person(a.owner_id) if a.owner_id else "",
        created_at=a.created_at,
        done=a.done_at is not None,
        carried=a.created_at < since,
    )


async def _carry_down(
    s: AsyncSession, team: Team, answered: list[Item], names: Any, now: datetime
) -> list[ItemView]:
    """Responses from above on items this team sent up: who below still needs to hear them."""
    hops = await all_hops(s, [i.id for i in answered])
    out = []
    for item in answered:
        path = hops.get(item.id, [])
        mine = [h for h in path if h.team_id == team.id]
        if not mine:
            continue
        below: list[Hop] = [h for h in path if h.seq < mine[-1].seq]
        v = view(item, names, now)
        v.carry_to = [names.team(h.team_id) for h in below]
        if item.origin_team_id == team.id:
            v.carry_to.append("the reporter")
        out.append(v)
    return out


# ---- the weekly digest -------------------------------------------------------------------


async def build_digest(
    session: AsyncSession, team: Team, now: datetime, shared: SharedStats | None = None
) -> Message:
    """The week for one team: what came in, what was decided, what waits, how the loop does."""
    s = session
    since = now - WEEK
    recent = await items_where(
        s,
        through(team.id),
        (Item.created_at >= since)
        | (Item.updated_at >= since)
        | (Item.closed_at >= since)
        | (Item.outcome_at >= since),
    )
    held = (Item.holding_team_id == team.id, Item.state.in_(OPEN))
    overdue_rows, overdue_n = await capped(s, *held, Item.due_at.is_not(None), Item.due_at < now)
    below_rows, below_n = await capped(s, *held, Item.origin_team_id != team.id)
    hops = await team_hops(s, team.id, [i.id for i in recent])
    names = await names_for(s, recent + overdue_rows + below_rows)

    def hop(i: Item) -> Hop | None:
        return hops.get(i.id)

    new = [i for i in recent if (h := hop(i)) is not None and h.arrived_at >= since]
    escalated = [
        i for i in recent if (h := hop(i)) is not None and h.left_at and h.left_at >= since
    ]
    closed = [i for i in recent if i.closed_at is not None and i.closed_at >= since]
    resolved = [i for i in closed if i.state == State.RESOLVED]
    declined = [i for i in closed if i.state == State.DECLINED]
    outcomes = [i for i in recent if i.outcome_at is not None and i.outcome_at >= since]
    stats = await loop_figures(s, team, now, shared)
    counts = await breakdown(s, team_id=team.id, since=since)
    kudos = await team_kudos(s, team.id, since)
    below = await s.scalar(
        select(func.count()).select_from(Team).where(Team.parent_id == team.id, Team.active)
    )

    return render(
        "digest",
        team=team,
        tz=team.timezone,
        now=now,
        since=since,
        new=section(views(new, names, now)),
        resolved=section(views(resolved, names, now)),
        declined=section(views(declined, names, now)),
        escalated=section(views(escalated, names, now)),
        overdue=Section(views(overdue_rows, names, now), overdue_n),
        from_below=Section(views(below_rows, names, now), below_n),
        outcomes=section(views(outcomes, names, now)),
        kudos=section(kudos),
        drivers=counts["driver"].most_common(),
        affected=counts["affected"].most_common(),
        stats=stats,
        closed_share=percent(stats.closed_share),
        has_below=bool(below),
    )


# ---- recognition and progress ------------------------------------------------------------


async def build_roundup(
    session: AsyncSession, team: Team, now: datetime, since: datetime | None = None
) -> Message:
    """The week's recognition: kudos, barriers removed and who raised them, successes."""
    s = session
    since = since or now - WEEK
    removed = [
        i for i in await resolved_through(s, team.id) if i.closed_at and i.closed_at >= since
    ]
    successes = await items_where(
        s, through(team.id), Item.kind == Kind.SUCCESS.value, Item.created_at >= since
    )
    names = await names_for(s, removed + successes)
    return render(
        "roundup",
        team=team,
        tz=team.timezone,
        now=now,
        since=since,
        kudos=section(await team_kudos(s, team.id, since)),
        removed=section(views(removed, names, now)),
        successes=section(views(successes, names, now)),
    )


@dataclass
class Milestone:
    count: int
    what: str  # "barriers removed", "successes shared"


def crossed(before: int, after: int, what: str) -> list[Milestone]:
    return [Milestone(n, what) for n in MILESTONES if before < n <= after]


async def build_progress(
    session: AsyncSession, team: Team, now: datetime, since: datetime | None = None
) -> Message:
    """Where the program stands (stage, tracked figures) and what the loop has achieved."""
    s = session
    since = since or now - timedelta(days=30)
    removed = await resolved_through(s, team.id)
    successes = await items_where(s, through(team.id), Item.kind == Kind.SUCCESS.value)
    stats = (await team_stats(s, now, team_ids=[team.id]))[team.id]
    outcomes = Counter(i.outcome for i in removed if i.outcome)
    succ_before = sum(1 for i in successes if i.created_at < since)
    milestones = crossed(count_before(removed, since), len(removed), "barriers removed")
    milestones += crossed(succ_before, len(successes), "successes shared")
    return render(
        "progress",
        team=team,
        tz=team.timezone,
        now=now,
        since=since,
        stage=stage_of(team),
        measures=measures_of(team),
        removed_total=len(removed),
        removed_since=len(removed) - count_before(removed, since),
        successes_total=len(successes),
        successes_since=len(successes) - succ_before,
        stats=stats,
        closed_share=percent(stats.closed_share),
        outcomes=outcomes,
        milestones=milestones,
    )


__all__ = [
    "Section",
    "build_agenda",
    "build_digest",
    "build_progress",
    "build_roundup",
    "render",
]
