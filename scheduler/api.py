"""What other parts of Looplink call: run one of a team's scheduled jobs now.

The browser playground's "run now" buttons call `run_job_now`.
"""

from __future__ import annotations

from bot.db.models import Team
from bot.errors import InvalidInput, NotFound
from bot.runtime import Runtime
from scheduler.config import KINDS
from scheduler.jobs import run_job

__all__ = ["KINDS", "run_job_now"]


async def run_job_now(rt: Runtime, team_id: str, kind: str) -> int:
    """Run `kind` (agenda, digest, roundup, nudges, progress, follow_up) for the team now.

    Messages go through the outbox like scheduled ones (wake the dispatcher or call
    `rt.dispatcher.run_once()` to deliver at once). Returns how many messages were enqueued
    (a message fanned out to several platforms counts once): 0 when there was nothing to send
    (no nudge or follow-up due, or today is a weekend or holiday, when the clock is paused; a
    digest for a team without a lead or liaison), or the same run already happened this
    second. Raises InvalidInput for an unknown kind and NotFound for an unknown team.
    """
    if kind not in KINDS:
        raise InvalidInput(f"'{kind}' is not a scheduled job; use one of {', '.join(KINDS)}.")
    async with rt.db.transaction() as s:
        team = await s.get(Team, team_id)
        if team is None or not team.active:
            raise NotFound(f"There is no active team '{team_id}'.")
    return await run_job(rt, kind, team_id)
