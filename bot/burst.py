"""A burst of reports from one person to one team: one notice in the channel, not a card each.

Slack takes one post per second per channel, so sixty cards from one person hold up everyone
else's report for a minute. Within each ten-minute window, a person's first three reports to a
team get their cards as usual; the rest are listed in one notice, edited in place as more
arrive (its queued version is replaced, not queued again), with a *Show card* button each.
Every report is in the team's queue (`status`, the agenda, the dashboard) either way.

Anonymous reports are never grouped: a notice naming the reporter, or grouping reports by
their author, would say who wrote them. They are limited like the others (`bot.limits`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import limits
from bot.db.models import Item, Person, Team
from bot.messages import Button, Message
from bot.texts import texts

WINDOW = timedelta(minutes=10)
FREE_CARDS = 3  # a person's first reports to a team in a window get their own cards
SHOW = "card:show"


def window_start(when: datetime) -> datetime:
    seconds = WINDOW.total_seconds()
    return datetime.fromtimestamp((when.timestamp() // seconds) * seconds, UTC)


def notice_key(team_id: str, person_id: str, start: datetime) -> str:
    return f"burst:{team_id}:{person_id}:{int(start.timestamp())}"


async def collapsed(s: AsyncSession, item: Item) -> list[Item] | None:
    """The reporter's reports in `item`'s burst that get no card (with `item`), or None when
    `item` gets its own card."""
    if item.anonymous or not limits.enabled():
        return None
    start = window_start(item.created_at)
    rows = list(
        (
            await s.scalars(
                select(Item)
                .where(
                    Item.reporter_id == item.reporter_id,
                    Item.origin_team_id == item.origin_team_id,
                    Item.anonymous.is_(False),
                    Item.created_at >= start,
                    Item.created_at < start + WINDOW,
                )
                .order_by(Item.id)
            )
        ).all()
    )
    rest = rows[FREE_CARDS:]
    return rest if any(r.id == item.id for r in rest) else None


def notice(team: Team, reporter: Person, items: list[Item]) -> Message:
    text = texts().render("burst_notice", team=team, reporter=reporter, items=items)
    return Message(
        text=text,
        buttons=tuple(Button(f"Show #{i.id}", SHOW, str(i.id)) for i in items[:20]),
    )
