"""Running one job for one team, exactly once per scheduled fire time.

`run_job` is the only way anything scheduled reaches the outbox. In one transaction it:

1. writes the run's ledger row (`ScheduledSend`, key = job, team, scheduled local minute);
   the primary key makes a second run of the same fire — after a restart in the same minute,
   or from a second process — fail with an IntegrityError, which is caught: nothing doubles;
2. builds the messages from live data (and stamps what must happen once: reminders, flags,
   follow-ups);
3. enqueues them with an outbox `dedupe_key` of `<run key>:<destination>` (UNIQUE as well).

Everything commits together, so a crash leaves either the whole run or none of it.
"""

from __future__ import annotations

import inspect
import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.db.models import ScheduledSend, Team
from bot.directory import Directory
from bot.messages import Message
from bot.outbox import enqueue
from bot.runtime import Runtime
from scheduler.config import KINDS, org_settings, run_key, team_jobs
from scheduler.producers import PRODUCERS
from scheduler.run import Run, Send

log = logging.getLogger("looplink.scheduler")


async def built(s: AsyncSession, send: Send) -> Message:
    """The send's message, built (if it is a builder) in its reader's language."""
    if not callable(send.message):
        return send.message
    with i18n.speaking(await Directory(s).reader(send.dest_kind, send.dest_id)):
        made = send.message()
        return await made if inspect.isawaitable(made) else made


def manual_key(kind: str, team_id: str, now: datetime) -> str:
    return f"{kind}:{team_id}:now:{now.strftime('%Y-%m-%dT%H:%M:%S')}"


async def run_job(rt: Runtime, kind: str, team_id: str, scheduled: datetime | None = None) -> int:
    """Run `kind` for `team_id` once for the fire time `scheduled` (None: a manual run now).

    Returns how many messages were enqueued (a message to several platforms counts once);
    0 when this fire was already handled, the team is gone, or there was nothing to say.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind '{kind}'; use one of {', '.join(KINDS)}")
    for attempt in (1, 2):
        try:
            return await _run_once(rt, kind, team_id, scheduled)
        except IntegrityError:
            # Another run of the same fire (or the same one-time notice) committed first.
            # Retry once: the ledger check then sees it and nothing is sent twice.
            log.info("job %s:%s raced another run (attempt %d)", kind, team_id, attempt)
    return 0


async def _run_once(rt: Runtime, kind: str, team_id: str, scheduled: datetime | None) -> int:
    now = rt.clock.now()
    async with rt.db.transaction() as s:
        team = await s.get(Team, team_id)
        if team is None or not team.active:
            return 0
        org = await org_settings(s)
        job = next((j for j in team_jobs(team, org) if j.kind == kind), None)
        key = (
            run_key(kind, team_id, scheduled, team.timezone)
            if scheduled is not None
            else manual_key(kind, team_id, now)
        )
        if await s.get(ScheduledSend, key) is not None:
            return 0
        ledger = ScheduledSend(
            key=key, kind=kind, team_id=team_id, scheduled_for=scheduled, sent_at=now, messages=0
        )
        s.add(ledger)
        await s.flush()
        sends = await PRODUCERS[kind](Run(rt, s, team, now, key, scheduled, job, org))
        count = 0
        for send in sends:
            rows = await enqueue(
                s,
                rt.fanout,
                now,
                send.dest_kind,
                send.dest_id,
                await built(s, send),
                track=send.track,
                dedupe_key=f"{key}:{send.suffix}",
                update_key=send.update_key,
            )
            count += 1 if rows else 0
        ledger.messages = count
        await s.flush()
    if count:
        log.info("job %s for %s: %d message(s) enqueued (%s)", kind, team_id, count, key)
    return count


async def scheduled_job(
    kind: str,
    team_id: str,
    spec: str = "",  # noqa: ARG001 - stored by name with each job (bookkeeping only)
    added: str = "",  # noqa: ARG001 - likewise
    *,
    rt: Runtime | None = None,
    scheduled: datetime | None = None,
) -> int:
    """What the job store names as each job's function (`scheduler.jobs:scheduled_job`).

    `spec` and `added` are bookkeeping kept with the job (see scheduler.service); `rt` and
    `scheduled` are passed in by the service's executor at run time, never stored.
    """
    if rt is None or scheduled is None:
        raise RuntimeError("scheduled_job runs only through the scheduler service's executor")
    return await run_job(rt, kind, team_id, scheduled)
