"""The meeting self-check and the quarterly protocol pulse: answers per member, shown only
aggregated.

A *meeting* self-check closes each standing agenda (round: the meeting's local date): was this
a good use of our time, is every task tracked with an owner and a date, did we do what we said
we would; each 1 (not at all) to 5 (fully), plus an optional note. The quarterly *pulse* asks
every linked team how well its feedback protocol works (round: "2026-Q4"), from the
communication-protocol worksheet. A member answers once per round (answering again replaces
their answer). Results are averages per question and how many answered, never who said what,
and are shown only from `MIN_ANSWERS` answers on (one answer would be one person's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import SelfCheck

QUESTIONS = {
    "meeting": ("time", "tracked", "done"),
    "pulse": ("clear", "timely", "useful"),
}
MIN_ANSWERS = 2
MAX_NOTE = 1000


def quarter(now: datetime) -> str:
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


async def record(
    s: AsyncSession,
    team_id: str,
    kind: str,
    round_: str,
    person_id: str,
    scores: dict[str, int],
    note: str,
    now: datetime,
) -> None:
    """Store one member's answers for a round, replacing any earlier ones of theirs."""
    await s.execute(
        delete(SelfCheck).where(
            SelfCheck.team_id == team_id,
            SelfCheck.kind == kind,
            SelfCheck.round == round_,
            SelfCheck.person_id == person_id,
        )
    )
    for q in QUESTIONS[kind]:
        s.add(
            SelfCheck(
                team_id=team_id,
                kind=kind,
                round=round_,
                person_id=person_id,
                question=q,
                score=scores[q],
                note=note[:MAX_NOTE] if q == QUESTIONS[kind][0] else "",
                created_at=now,
            )
        )
    await s.flush()


@dataclass(frozen=True)
class Round:
    round: str
    answers: int  # how many members answered
    averages: dict[str, float]  # question -> average score (empty below MIN_ANSWERS)
    notes: tuple[str, ...]  # the notes, without names, in no particular order


@dataclass(frozen=True)
class Results:
    kind: str
    latest: Round | None
    previous: Round | None

    def trend(self, question: str) -> str:
        """ "up", "down", "same" or "" (no earlier round to compare with)."""
        if self.latest is None or self.previous is None:
            return ""
        a = self.previous.averages.get(question)
        b = self.latest.averages.get(question)
        if a is None or b is None:
            return ""
        return "up" if b > a + 0.05 else "down" if b < a - 0.05 else "same"


async def results(s: AsyncSession, team_id: str, kind: str) -> Results:
    """The latest two rounds that have answers, aggregated."""
    rounds = (
        await s.scalars(
            select(SelfCheck.round)
            .where(SelfCheck.team_id == team_id, SelfCheck.kind == kind)
            .group_by(SelfCheck.round)
            .order_by(SelfCheck.round.desc())
            .limit(2)
        )
    ).all()
    shown = [await _round(s, team_id, kind, r) for r in rounds]
    return Results(kind, shown[0] if shown else None, shown[1] if len(shown) > 1 else None)


async def _round(s: AsyncSession, team_id: str, kind: str, round_: str) -> Round:
    where = (SelfCheck.team_id == team_id, SelfCheck.kind == kind, SelfCheck.round == round_)
    rows = (
        await s.execute(
            select(SelfCheck.question, func.avg(SelfCheck.score), func.count())
            .where(*where)
            .group_by(SelfCheck.question)
        )
    ).all()
    answers = max((int(n) for _, _, n in rows), default=0)
    found = {str(q): round(float(avg), 1) for q, avg, _ in rows}
    averages = {q: found[q] for q in QUESTIONS[kind] if q in found}  # in the asking order
    notes = (
        await s.scalars(
            select(SelfCheck.note).where(*where, SelfCheck.note != "").order_by(SelfCheck.note)
        )
    ).all()
    if answers < MIN_ANSWERS:
        return Round(round_, answers, {}, ())
    return Round(round_, answers, averages, tuple(notes))
