"""Every team's digest and agenda sections at once, in grouped statements.

Every team's digest defaults to Monday 08:00, so 2,000 digests (and as many agendas) fall due
in the same minute. Built one team at a time, each runs 10-23 statements over that team's
items. `SharedSections` answers them all from one pass per section instead: the statements
of a batch are a fixed number whatever the number of teams (the figures `bot.metrics.
SharedStats` already shares the same way), and each build reads its team's part.

    sections = await SHARED.get(s, now, since=floor)   # once per minute, for every team
    digest = await build_digest(s, team, now, shared=stats, sections=sections)

Lists that grow with the organisation are capped in the database (a window function numbers
each team's rows; the first LIST_LIMIT and the total come back), so a district that holds
30,000 open items costs ten rows, as it does one team at a time.

What a build shows from a batch is what it shows built alone (tests/test_sched_batch.py
compares every team's digest and agenda both ways). A batch is read at most `ttl` seconds
before it is used, like the loop figures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.common import WEEK, meetings
from bot.content.views import LIST_LIMIT, OPEN, KudosView, Names
from bot.db.models import (
    AgendaItem,
    Hop,
    Item,
    Kudos,
    Membership,
    Person,
    SelfCheck,
    SimilarDoc,
    Team,
)
from bot.domain import Kind, State
from bot.selfcheck import MIN_ANSWERS, QUESTIONS, Results, Round
from bot.similar.views import ClusterLine, _view, line

Capped = tuple[list[Any], int]  # items, or rows of their VIEWED columns
NEW_OR_ESCALATED = [State.NEW.value, State.ESCALATED.value]
IN_PROGRESS = [State.ACKNOWLEDGED.value, State.NEEDS_INFO.value]


@dataclass
class Sections:
    """What every team's digest and agenda need, for one `now` and items since `since`."""

    now: datetime
    since: datetime  # the earliest window any build may ask for
    week: datetime  # now - a week: the digest's window
    teams: dict[str, Team] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    # digest
    recent: dict[str, list[tuple[Any, Any]]] = field(default_factory=dict)  # rows: item, hop
    overdue: dict[str, Capped] = field(default_factory=dict)
    from_below: dict[str, Capped] = field(default_factory=dict)
    drivers: dict[str, Counter[str]] = field(default_factory=dict)
    affected: dict[str, Counter[str]] = field(default_factory=dict)
    # agenda
    members: dict[str, list[tuple[Person, str]]] = field(default_factory=dict)
    agenda: dict[str, list[AgendaItem]] = field(default_factory=dict)
    new: dict[str, Capped] = field(default_factory=dict)
    in_progress: dict[str, Capped] = field(default_factory=dict)
    send_up: dict[str, Capped] = field(default_factory=dict)
    above: dict[str, Capped] = field(default_factory=dict)
    chase: dict[str, Capped] = field(default_factory=dict)
    revisit: dict[str, Capped] = field(default_factory=dict)
    closed_through: dict[str, list[Item]] = field(default_factory=dict)
    successes_through: dict[str, list[Item]] = field(default_factory=dict)
    hops: dict[int, list[Hop]] = field(default_factory=dict)  # of items closed since `since`
    # both
    kudos: list[Kudos] = field(default_factory=list)
    member_ids: dict[str, set[str]] = field(default_factory=dict)
    clusters: dict[str, list[ClusterLine]] = field(default_factory=dict)
    selfchecks: dict[tuple[str, str], Results] = field(default_factory=dict)

    def names(self) -> Names:
        return Names(self.teams, self.people)

    def capped(self, which: dict[str, Capped], team_id: str) -> Capped:
        return which.get(team_id, ([], 0))

    def selfcheck_of(self, team_id: str, kind: str) -> Results:
        return self.selfchecks.get((team_id, kind)) or Results(kind, None, None)

    def children(self, team_id: str) -> int:
        return sum(1 for t in self.teams.values() if t.parent_id == team_id and t.active)

    def team_kudos(self, team_id: str, since: datetime) -> list[KudosView]:
        """As `bot.content.views.team_kudos`: for the team or any of its current members."""
        members = self.member_ids.get(team_id, set())
        names = self.names()
        return [
            KudosView(
                giver=names.person(k.giver_id),
                target=names.person(k.person_id) if k.person_id else names.team(k.team_id),
                text=k.text,
                item_id=k.item_id,
                created_at=k.created_at,
            )
            for k in self.kudos
            if k.created_at >= since and (k.team_id == team_id or k.person_id in members)
        ]


async def load_sections(
    s: AsyncSession, now: datetime, since: datetime, week: datetime
) -> Sections:
    """Every team's sections: a fixed number of statements, whatever the number of teams."""
    teams = {t.id: t for t in (await s.scalars(select(Team))).all()}
    out = Sections(now, min(since, week, earliest_window(teams.values(), now)), week)
    out.teams = teams
    out.people = {p.id: p for p in (await s.scalars(select(Person))).all()}
    await _digest_sections(s, out)
    await _agenda_sections(s, out)
    await _shared_sections(s, out)
    await _selfchecks(s, out)
    out.clusters = await _cluster_lines(s, out)
    return out


async def _digest_sections(s: AsyncSession, out: Sections) -> None:
    week, now = out.week, out.now
    active = (
        (Item.created_at >= week)
        | (Item.updated_at >= week)
        | (Item.closed_at >= week)
        | (Item.outcome_at >= week)
    )
    rows = await s.execute(
        select(
            *VIEWED, Item.outcome_at, Hop.team_id.label("hop_team_id"), Hop.arrived_at, Hop.left_at
        )
        .join(Item, Item.id == Hop.item_id)
        .where(active)
        .order_by(Item.id, Hop.seq)
    )
    latest: dict[tuple[str, int], tuple[Any, Any]] = {}
    for row in rows.all():
        # the team's latest hop on the item; the row is both the item (its VIEWED columns and
        # outcome_at) and the hop (arrived_at, left_at): the digest reads nothing else of them
        latest[(row.hop_team_id, row.id)] = (row, row)
    for (tid, _iid), pair in latest.items():
        out.recent.setdefault(tid, []).append(pair)
    held = (Item.state.in_(OPEN),)
    out.overdue = await capped_held(s, *held, Item.due_at.is_not(None), Item.due_at < now)
    out.from_below = await capped_held(s, *held, Item.origin_team_id != Item.holding_team_id)
    barriers = await s.execute(
        select(Hop.team_id, Item.id, Item.driver, Item.affected)
        .join(Item, Item.id == Hop.item_id)
        .where(Item.kind == Kind.BARRIER.value, Item.created_at >= week)
        .order_by(Hop.team_id, Item.id)
    )
    seen: set[tuple[str, int]] = set()
    for tid, iid, driver, who in barriers.all():
        if (tid, iid) in seen:  # an item that passed a team twice counts once there
            continue
        seen.add((tid, iid))
        out.drivers.setdefault(tid, Counter())[driver or "other"] += 1
        bucket = out.affected.setdefault(tid, Counter())
        for w in who or []:
            bucket[str(w)] += 1


async def _agenda_sections(s: AsyncSession, out: Sections) -> None:
    since, now = out.since, out.now
    q = (
        select(Person, Membership.role, Membership.team_id)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.active.is_(True), Person.active.is_(True))
        .order_by(Person.name)
    )
    for person, role, tid in (await s.execute(q)).all():
        out.members.setdefault(tid, []).append((person, role))
    agenda = await s.scalars(
        select(AgendaItem)
        .where(or_(AgendaItem.done_at.is_(None), AgendaItem.done_at >= since))
        .order_by(AgendaItem.id)
    )
    for a in agenda.all():
        out.agenda.setdefault(a.team_id, []).append(a)
    held = (Item.state.in_(OPEN),)
    out.new = await capped_held(s, *held, Item.state.in_(NEW_OR_ESCALATED))
    out.in_progress = await capped_held(
        s, *held, Item.state.in_(IN_PROGRESS), order_by=(Item.created_at, Item.id)
    )
    out.send_up = await capped_held(s, *held, Item.kind == Kind.SUCCESS.value)
    passed = (Item.state.in_(OPEN), Item.holding_team_id != Hop.team_id)
    out.above = await capped_through(s, *passed)
    out.chase = await capped_through(s, *passed, Item.due_at.is_not(None), Item.due_at < now)
    out.closed_through = await through_all(s, Item.closed_at.is_not(None), Item.closed_at >= since)
    out.successes_through = await through_all(
        s, Item.kind == Kind.SUCCESS.value, Item.created_at >= since
    )
    await _revisits(s, out)
    closed_ids = select(Item.id).where(Item.closed_at.is_not(None), Item.closed_at >= since)
    hops = await s.scalars(
        select(Hop).where(Hop.item_id.in_(closed_ids)).order_by(Hop.item_id, Hop.seq)
    )
    for h in hops.all():
        out.hops.setdefault(h.item_id, []).append(h)


async def _shared_sections(s: AsyncSession, out: Sections) -> None:
    out.kudos = list(
        (
            await s.scalars(select(Kudos).where(Kudos.created_at >= out.since).order_by(Kudos.id))
        ).all()
    )
    rows = await s.execute(
        select(Membership.team_id, Membership.person_id).where(Membership.active.is_(True))
    )
    for tid, pid in rows.all():
        out.member_ids.setdefault(tid, set()).add(pid)


EARLIEST = timedelta(weeks=5)  # a batch reads back at most this far for every team


def earliest_window(teams: Iterable[Team], now: datetime) -> datetime:
    """The earliest start any team's agenda asks for at `now` (its previous meeting, or a week
    ago), so one batch serves the digests and every agenda; no earlier than EARLIEST (a team
    meeting less often than monthly gets a batch of its own, as a build asking earlier than
    the batch always does)."""
    floor = now - WEEK
    for t in teams:
        if t.active:
            previous = meetings(t, now, None).previous
            if previous is not None and previous < floor:
                floor = previous
    return max(floor, now - EARLIEST)


def revisit_weeks(team: Team) -> int:
    """As `bot.content.agenda.revisit_weeks` (the team key `revisit_weeks`, 12 by default)."""
    try:
        return max(1, int((team.extra or {}).get("revisit_weeks", 12)))
    except (TypeError, ValueError):
        return 12


async def _revisits(s: AsyncSession, out: Sections) -> None:
    """Decisions old enough to revisit, per deciding team: one statement per distinct
    `revisit_weeks` among the teams (12 for all by default), not one per team."""
    by_weeks: dict[int, set[str]] = defaultdict(set)
    for t in out.teams.values():
        by_weeks[revisit_weeks(t)].add(t.id)
    for weeks, tids in sorted(by_weeks.items()):
        found = await capped_held(
            s,
            Item.state.in_([State.RESOLVED.value, State.DECLINED.value]),
            Item.revisited_at.is_(None),
            Item.closed_at <= out.now - timedelta(weeks=weeks),
            Item.closed_by_team_id.is_not(None),
            key=Item.closed_by_team_id,
            order_by=(Item.closed_at, Item.id),
            plain=False,  # revisit buttons render the item itself
        )
        out.revisit.update({k: v for k, v in found.items() if k in tids})


async def _selfchecks(s: AsyncSession, out: Sections) -> None:
    """As `bot.selfcheck.results` for every team and kind: two statements for all."""
    rows = await s.execute(
        select(
            SelfCheck.team_id,
            SelfCheck.kind,
            SelfCheck.round,
            SelfCheck.question,
            func.avg(SelfCheck.score),
            func.count(),
        ).group_by(SelfCheck.team_id, SelfCheck.kind, SelfCheck.round, SelfCheck.question)
    )
    scores: dict[tuple[str, str, str], list[tuple[str, float, int]]] = defaultdict(list)
    for tid, kind, rnd, q, avg, n in rows.all():
        scores[(tid, kind, rnd)].append((str(q), float(avg), int(n)))
    notes: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    noted = await s.execute(
        select(SelfCheck.team_id, SelfCheck.kind, SelfCheck.round, SelfCheck.note)
        .where(SelfCheck.note != "")
        .order_by(SelfCheck.note)
    )
    for tid, kind, rnd, note in noted.all():
        notes[(tid, kind, rnd)].append(note)
    rounds: dict[tuple[str, str], list[str]] = defaultdict(list)
    for tid, kind, rnd in scores:
        rounds[(tid, kind)].append(rnd)
    for (tid, kind), rs in rounds.items():
        latest = sorted(rs, reverse=True)[:2]
        shown = [_round(kind, r, scores[(tid, kind, r)], notes[(tid, kind, r)]) for r in latest]
        out.selfchecks[(tid, kind)] = Results(
            kind, shown[0] if shown else None, shown[1] if len(shown) > 1 else None
        )


def _round(kind: str, round_: str, rows: list[tuple[str, float, int]], notes: list[str]) -> Round:
    """As `bot.selfcheck._round`, from the grouped rows."""
    answers = max((n for _q, _a, n in rows), default=0)
    found = {q: round(avg, 1) for q, avg, _n in rows}
    averages = {q: found[q] for q in QUESTIONS[kind] if q in found}
    if answers < MIN_ANSWERS:
        return Round(round_, answers, {}, ())
    return Round(round_, answers, averages, tuple(notes))


# ---- grouped statements ------------------------------------------------------------------


async def capped_held(
    s: AsyncSession,
    *conditions: ColumnElement[bool],
    order_by: tuple[Any, ...] = (Item.id,),
    limit: int = LIST_LIMIT,
    key: Any = Item.holding_team_id,
    plain: bool = True,
) -> dict[str, Capped]:
    """Per holding team (or per `key`): its first `limit` items matching `conditions` and how
    many match (as plain rows of VIEWED columns unless `plain` is false)."""
    ranked = (
        select(
            Item.id.label("iid"),
            key.label("k"),
            func.row_number().over(partition_by=key, order_by=order_by).label("rn"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(*conditions)
        .subquery()
    )
    return await _firsts(s, ranked, limit, plain)


async def capped_through(
    s: AsyncSession, *conditions: ColumnElement[bool], limit: int = LIST_LIMIT
) -> dict[str, Capped]:
    """Per team on the items' paths: its first `limit` items (by id) matching `conditions`
    (which may name Hop.team_id, the team) and how many match."""
    pairs = (
        select(Hop.team_id.label("k"), Hop.item_id.label("iid"))
        .join(Item, Item.id == Hop.item_id)
        .where(*conditions)
        .distinct()
        .subquery()
    )
    ranked = select(
        pairs.c.iid,
        pairs.c.k,
        func.row_number().over(partition_by=pairs.c.k, order_by=pairs.c.iid).label("rn"),
        func.count().over(partition_by=pairs.c.k).label("n"),
    ).subquery()
    return await _firsts(s, ranked, limit)


# What `bot.content.views.view` reads of an item: the capped lists are only shown through it,
# so they are read as plain rows of these columns (turning 20,000 rows per list into ORM
# objects was a third of the batch's load, bench/README.md section 2).
VIEWED = tuple(
    getattr(Item, name)
    for name in (
        "id", "kind", "summary", "driver", "urgency", "state", "anonymous", "reporter_id",
        "origin_team_id", "holding_team_id", "created_at", "due_at", "response", "closed_at",
        "closed_by_team_id", "outcome",
    )
)  # fmt: skip


async def _firsts(
    s: AsyncSession, ranked: Any, limit: int, plain: bool = True
) -> dict[str, Capped]:
    q = (
        select(*(VIEWED if plain else (Item,)), ranked.c.k, ranked.c.n)
        .join(ranked, ranked.c.iid == Item.id)
        .where(ranked.c.rn <= limit)
        .order_by(ranked.c.k, ranked.c.rn)
    )
    out: dict[str, Capped] = {}
    for row in (await s.execute(q)).all():
        *fields, k, n = row
        rows, _ = out.get(k, ([], 0))
        rows.append(row if plain else fields[0])
        out[k] = (rows, int(n))
    return out


async def through_all(s: AsyncSession, *conditions: ColumnElement[bool]) -> dict[str, list[Item]]:
    """Per team: the items (by id) whose path includes the team and that match `conditions`."""
    q = (
        select(Hop.team_id, Item)
        .join(Item, Item.id == Hop.item_id)
        .where(*conditions)
        .order_by(Item.id)
    )
    out: dict[str, list[Item]] = defaultdict(list)
    seen: set[tuple[str, int]] = set()
    for tid, item in (await s.execute(q)).all():
        if (tid, item.id) not in seen:
            seen.add((tid, item.id))
            out[tid].append(item)
    return dict(out)


# ---- clusters of similar barriers below each team ----------------------------------------


def _ancestors(teams: dict[str, Team], origin: str) -> list[str]:
    """The teams for which `origin` is below (as `bot.similar.views.descendants` walks:
    through active teams only)."""
    out: list[str] = []
    team = teams.get(origin)
    seen = {origin}
    while team is not None and team.active and team.parent_id and team.parent_id not in seen:
        out.append(team.parent_id)
        seen.add(team.parent_id)
        team = teams.get(team.parent_id)
    return out


@dataclass
class _Group:
    origins: set[str] = field(default_factory=set)
    count: int = 0
    first: datetime | None = None


async def _cluster_lines(
    s: AsyncSession, out: Sections, limit: int = 5
) -> dict[str, list[ClusterLine]]:
    """As `bot.similar.views.lines_below` for every team: two statements for all of them."""
    scope = (
        Item.state.in_(OPEN),
        SimilarDoc.group_id.is_not(None),
        Item.kind == Kind.BARRIER.value,
    )
    rows = await s.execute(
        select(SimilarDoc.group_id, Item.origin_team_id, func.count(), func.min(Item.created_at))
        .join(Item, Item.id == SimilarDoc.item_id)
        .where(*scope)
        .group_by(SimilarDoc.group_id, Item.origin_team_id)
    )
    per_team: dict[str, dict[int, _Group]] = defaultdict(dict)
    for gid, origin, n, first in rows.all():
        for tid in _ancestors(out.teams, origin):
            g = per_team[tid].setdefault(int(gid or 0), _Group())
            g.origins.add(origin)
            g.count += int(n)
            g.first = first if g.first is None or first < g.first else g.first
    chosen: dict[str, list[int]] = {}
    for tid, groups in per_team.items():
        wide = [(gid, g) for gid, g in groups.items() if len(g.origins) >= 2 and g.count >= 2]
        wide.sort(key=lambda x: (-len(x[1].origins), -x[1].count, x[1].first, x[0]))
        chosen[tid] = [gid for gid, _ in wide[:limit]]
    wanted = sorted({gid for ids in chosen.values() for gid in ids})
    if not wanted:
        return {}
    members: dict[int, list[tuple[Item, str]]] = defaultdict(list)
    items = await s.execute(
        select(Item, SimilarDoc.group_id, SimilarDoc.counts)
        .join(SimilarDoc, SimilarDoc.item_id == Item.id)
        .where(*scope, SimilarDoc.group_id.in_(wanted))
        .order_by(Item.created_at, Item.id)
    )
    for item, gid, counts in items.all():
        members[int(gid or 0)].append((item, counts))
    lines: dict[str, list[ClusterLine]] = {}
    for tid, ids in chosen.items():
        below = set(_descendants(out.teams, tid))
        views = []
        for gid in ids:
            mine = [(i, c) for i, c in members.get(gid, []) if i.origin_team_id in below]
            if mine:
                views.append(line(_view(gid, mine, out.teams, out.now)))
        lines[tid] = views
    return lines


def _descendants(teams: dict[str, Team], team_id: str) -> list[str]:
    return [t for t in teams if team_id in _ancestors(teams, t)]


# ---- shared by the jobs due in one minute ------------------------------------------------


class SharedSections:
    """Every team's sections, read once and shared by the jobs due in the same minute (one per
    running process, like `bot.metrics.SharedStats`). A build asking for a window earlier than
    the batch's (an agenda whose last meeting was long ago) is built on its own."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._key: tuple[datetime, datetime] | None = None
        self._at = 0.0
        self._sections: Sections | None = None
        self._lock = asyncio.Lock()

    async def get(
        self, s: AsyncSession, now: datetime, since: datetime, week: datetime
    ) -> Sections:
        minute = now.replace(second=0, microsecond=0)
        async with self._lock:
            cached = self._sections
            fresh = time.monotonic() - self._at <= self.ttl
            if (
                cached is None
                or not fresh
                or self._key is None
                or self._key[0] != minute
                or since < cached.since
            ):
                floor = min(since, week)
                self._sections = await load_sections(s, now, floor, week)
                self._key, self._at = (minute, floor), time.monotonic()
            assert self._sections is not None
            return self._sections
