"""Pieces every scheduled or on-demand message shares: rendering, roles, measures, meetings.

The messages themselves are built in `bot.content.agenda`, `.digest` and `.recognition`;
`bot.content.views` holds the read-only queries and view models they use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import selfcheck
from bot.db.models import Person, Team
from bot.domain import STAGE_LABELS, Role, Stage
from bot.i18n import _
from bot.messages import Message
from bot.metrics import SharedStats, TeamStats, team_stats
from bot.schedule import TICK, CronError, last_fire_at_or_before, next_fire_after, parse_cron
from bot.texts import texts

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
        return _(STAGE_LABELS[Stage(str(stage))])
    except ValueError:
        return str(stage)


def percent(share: float | None) -> str:
    return "-" if share is None else f"{round(share * 100)}%"


# ---- meetings and loop figures ---------------------------------------------------------


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


async def selfcheck_summary(s: AsyncSession, team: Team) -> str:
    """The team's meeting self-check and protocol pulse, aggregated, with their trend ("" when
    nobody has answered yet)."""
    return selfcheck_text(
        [await selfcheck.results(s, team.id, kind) for kind in selfcheck.QUESTIONS]
    )


def selfcheck_text(results: list[selfcheck.Results]) -> str:
    """The self-check results as the digest shows them ("" when nobody has answered yet)."""
    found = [r for r in results if r.latest is not None]
    if not found:
        return ""
    labels = {
        q: texts().render("selfcheck_words", which=f"short_{q}")
        for qs in selfcheck.QUESTIONS.values()
        for q in qs
    }
    return texts().render("selfcheck_results", results=found, labels=labels)
