"""The standing agenda (DOMAIN.md's six sections) for a team's next meeting."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

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
from bot.db.models import Hop, Item, Team
from bot.directory import Directory
from bot.domain import Kind, State
from bot.i18n import _
from bot.messages import Button, Message
from bot.metrics import SharedStats
from bot.similar.views import lines_below, respond_buttons
from bot.texts import texts


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
    today = now.astimezone(ZoneInfo(team.timezone)).date()
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
    revisit_rows, revisit_n = await capped(
        s,
        Item.closed_by_team_id == team.id,
        Item.state.in_([State.RESOLVED.value, State.DECLINED.value]),
        Item.revisited_at.is_(None),
        Item.closed_at <= now - timedelta(weeks=revisit_weeks(team)),
        order_by=(Item.closed_at, Item.id),
    )
    shown = (
        revisit_rows
        + new_rows
        + open_rows
        + up_rows
        + above_rows
        + chase_rows
        + answered
        + successes
    )
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

    clusters = await lines_below(s, team, now)
    message = render(
        "agenda",
        team=team,
        tz=team.timezone,
        now=now,
        meeting=m,
        since=since,
        roles=roles_of(members),
        topics=[_agenda_line(a, people.person, since) for a in topics if a.done_at is None],
        actions=[_agenda_line(a, people.person, since, today) for a in actions],
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
        reporter_word=_("the reporter"),
        clusters=clusters,
        revisit=Section(views(revisit_rows, names, now), revisit_n),
        revisit_weeks=revisit_weeks(team),
    )
    check = selfcheck_button("meeting", team, meeting_round(team, now, m.this))
    buttons = respond_buttons(clusters) + revisit_buttons(revisit_rows) + (check,)
    return replace(message, buttons=buttons)


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
