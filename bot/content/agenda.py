"""The standing agenda (DOMAIN.md's six sections) for a team's next meeting."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.batch import Sections, SharedSections
from bot.content.common import (
    WEEK,
    loop_figures,
    measures_of,
    meetings,
    percent,
    render,
    roles_of,
)
from bot.content.views import (
    OPEN,
    ItemView,
    KudosView,
    Names,
    Section,
    agenda_items,
    all_hops,
    capped,
    items_where,
    load_names,
    names_for,
    section,
    team_kudos,
    through,
    view,
    views,
)
from bot.dates import shown
from bot.db.models import AgendaItem, Hop, Item, Person, Team
from bot.directory import Directory
from bot.domain import Kind, State
from bot.i18n import _
from bot.messages import Button, Message
from bot.metrics import SharedStats
from bot.similar.views import ClusterLine, lines_below, respond_buttons
from bot.texts import texts


async def build_agenda(
    session: AsyncSession,
    team: Team,
    now: datetime,
    meeting_at: datetime | None = None,
    shared: SharedStats | None = None,
    batch: SharedSections | None = None,
) -> Message:
    """The standing agenda (DOMAIN.md's six sections) for the team's next meeting. With
    `batch`, every team's sections come from grouped statements shared by the jobs due in the
    same minute (bot/content/batch.py); the message is the same."""
    s = session
    m = meetings(team, now, meeting_at)
    since = m.previous or now - WEEK
    if batch is not None:
        part = _from_batch(await batch.get(s, now, since, now - WEEK), team, since)
    else:
        part = await _alone(s, team, now, since)
    today = now.astimezone(ZoneInfo(team.timezone)).date()
    stats = await loop_figures(s, team, now, shared)
    names, people = part.names, part.people
    carry = _carry_down(team, part.answered, part.hops, names, now)
    parent = names.teams.get(team.parent_id or "")
    send_down: dict[str, list[ItemView]] = {}
    for v in carry:
        for who in v.carry_to:
            send_down.setdefault(who, []).append(v)
    (new_rows, new_n), (open_rows, open_n) = part.new, part.open
    (up_rows, up_n), (above_rows, above_n) = part.up, part.above
    (chase_rows, chase_n), (revisit_rows, revisit_n) = part.chase, part.revisit
    message = render(
        "agenda",
        team=team,
        tz=team.timezone,
        now=now,
        meeting=m,
        since=since,
        roles=roles_of(part.members),
        topics=[_agenda_line(a, people.person, since) for a in part.topics if a.done_at is None],
        actions=[_agenda_line(a, people.person, since, today) for a in part.actions],
        measures=measures_of(team),
        stats=stats,
        closed_share=percent(stats.closed_share),
        new=Section(views(new_rows, names, now), new_n),
        open=Section(views(open_rows, names, now), open_n),
        above=Section(views(above_rows, names, now), above_n),
        carry=section(carry),
        successes=section(views(part.successes, names, now)),
        kudos=section(part.kudos),
        parent=parent,
        send_up=Section(views(up_rows, names, now), up_n),
        chase=Section(views(chase_rows, names, now), chase_n),
        send_down={k: section(v) for k, v in sorted(send_down.items())},
        reporter_word=_("the reporter"),
        clusters=part.clusters,
        revisit=Section(views(revisit_rows, names, now), revisit_n),
        revisit_weeks=revisit_weeks(team),
    )
    check = selfcheck_button("meeting", team, meeting_round(team, now, m.this))
    buttons = respond_buttons(part.clusters) + revisit_buttons(revisit_rows) + (check,)
    return replace(message, buttons=buttons)


Capped = tuple[list[Item], int]


@dataclass
class _Part:
    """One team's agenda sections, read alone or taken from a batch."""

    members: list[tuple[Person, str]]
    topics: list[AgendaItem]
    actions: list[AgendaItem]
    new: Capped
    open: Capped
    up: Capped
    above: Capped
    chase: Capped
    revisit: Capped
    answered: list[Item]
    successes: list[Item]
    hops: dict[int, list[Hop]]
    kudos: list[KudosView]
    names: Names
    people: Names
    clusters: list[ClusterLine]


def revisit_due(team: Team, now: datetime) -> tuple[Any, ...]:
    """Decisions of the team old enough to be revisited and not revisited yet."""
    return (
        Item.state.in_([State.RESOLVED.value, State.DECLINED.value]),
        Item.revisited_at.is_(None),
        Item.closed_at <= now - timedelta(weeks=revisit_weeks(team)),
    )


async def _alone(s: AsyncSession, team: Team, now: datetime, since: datetime) -> _Part:
    members = await Directory(s).members(team.id)
    topics, actions = await agenda_items(s, team.id, since)
    held = (Item.holding_team_id == team.id, Item.state.in_(OPEN))
    new = await capped(s, *held, Item.state.in_([State.NEW.value, State.ESCALATED.value]))
    in_progress = await capped(
        s,
        *held,
        Item.state.in_([State.ACKNOWLEDGED.value, State.NEEDS_INFO.value]),
        order_by=(Item.created_at, Item.id),
    )
    up = await capped(s, *held, Item.kind == Kind.SUCCESS.value)
    passed = (through(team.id), Item.state.in_(OPEN), Item.holding_team_id != team.id)
    above = await capped(s, *passed)
    chase = await capped(s, *passed, Item.due_at.is_not(None), Item.due_at < now)
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
    revisit = await capped(
        s,
        Item.closed_by_team_id == team.id,
        *revisit_due(team, now),
        order_by=(Item.closed_at, Item.id),
    )
    shown_rows = (
        revisit[0] + new[0] + in_progress[0] + up[0] + above[0] + chase[0] + answered + successes
    )
    names = await names_for(s, shown_rows, team.parent_id or "")
    people = await load_names(
        s, (), [a.added_by for a in topics + actions] + [a.owner_id for a in actions]
    )
    hops = await all_hops(s, [i.id for i in answered])
    clusters = await lines_below(s, team, now)
    return _Part(
        members, topics, actions, new, in_progress, up, above, chase, revisit, answered,
        successes, hops, kudos, names, people, clusters,
    )  # fmt: skip


def _from_batch(b: Sections, team: Team, since: datetime) -> _Part:
    tid = team.id
    agenda = [a for a in b.agenda.get(tid, []) if a.done_at is None or a.done_at >= since]
    answered = [
        i
        for i in b.closed_through.get(tid, [])
        if i.closed_at is not None and i.closed_at >= since and i.closed_by_team_id != tid
    ]
    names = b.names()
    return _Part(
        members=b.members.get(tid, []),
        topics=[a for a in agenda if a.kind != "action"],
        actions=[a for a in agenda if a.kind == "action"],
        new=b.capped(b.new, tid),
        open=b.capped(b.in_progress, tid),
        up=b.capped(b.send_up, tid),
        above=b.capped(b.above, tid),
        chase=b.capped(b.chase, tid),
        revisit=b.capped(b.revisit, tid),
        answered=answered,
        successes=[i for i in b.successes_through.get(tid, []) if i.created_at >= since],
        hops={i.id: b.hops.get(i.id, []) for i in answered},
        kudos=b.team_kudos(tid, since),
        names=names,
        people=names,
        clusters=b.clusters.get(tid, []),
    )


DEFAULT_REVISIT_WEEKS = 12


def revisit_weeks(team: Team) -> int:
    """How long after a decision the agenda brings it back for a revisit (team key
    `revisit_weeks` in the org file; 12 by default)."""
    try:
        return max(1, int((team.extra or {}).get("revisit_weeks", DEFAULT_REVISIT_WEEKS)))
    except (TypeError, ValueError):
        return DEFAULT_REVISIT_WEEKS


def revisit_buttons(rows: list[Item]) -> tuple[Button, ...]:
    t = texts()
    out: list[Button] = []
    for item in rows[:3]:
        v = str(item.id)
        out.append(
            Button(t.render("revisit_words", which="reopen", item=item), "revisit:reopen", v)
        )
        out.append(Button(t.render("revisit_words", which="keep", item=item), "revisit:keep", v))
    return tuple(out)


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
    due: str = ""  # an action item's due date, as people read it
    overdue: bool = False  # open and past its due date


def _agenda_line(a: Any, person: Any, since: datetime, today: date | None = None) -> AgendaLine:
    overdue = bool(a.due_on and a.done_at is None and today and a.due_on < today)
    return AgendaLine(
        due=shown(a.due_on),
        overdue=overdue,
        id=a.id,
        kind=a.kind,
        text=a.text,
        added_by=person(a.added_by) if a.added_by else "",
        owner=person(a.owner_id) if a.owner_id else "",
        created_at=a.created_at,
        done=a.done_at is not None,
        carried=a.created_at < since,
    )


def _carry_down(
    team: Team, answered: list[Item], hops: dict[int, list[Hop]], names: Any, now: datetime
) -> list[ItemView]:
    """Responses from above on items this team sent up: who below still needs to hear them."""
    out = []
    for item in answered:
        path = hops.get(item.id, [])
        mine = [h for h in path if h.team_id == team.id]
        if not mine:
            continue
        below: list[Hop] = [h for h in path if h.seq < mine[-1].seq]
        v = view(item, names, now)
        v.carry_to = [names.team(h.team_id) for h in below]
        if item.origin_team_id == team.id and item.reporter_told_at is None:
            v.carry_to.append(_("the reporter"))  # only while the relay has not reached them
        out.append(v)
    return out


def meeting_round(team: Team, now: datetime, meeting_at: datetime | None = None) -> str:
    """The meeting a self-check is about: the one the agenda was for, else the nearest."""
    m = meetings(team, now, meeting_at)
    when = meeting_at or min(
        (t for t in (m.previous, m.this) if t is not None),
        key=lambda t: abs((t - now).total_seconds()),
        default=now,
    )
    return when.astimezone(ZoneInfo(team.timezone)).date().isoformat()


def selfcheck_button(kind: str, team: Team, round_: str) -> Button:
    return Button(
        texts().render("selfcheck_words", which=f"button_{kind}"),
        "selfcheck",
        f"{kind}:{team.id}:{round_}",
    )
