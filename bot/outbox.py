"""The durable outbox: every outgoing message is a row before anyone is told "done".

`enqueue` runs inside the caller's transaction (so a message exists if and only if the change
that caused it committed). `Dispatcher` delivers rows through the platform senders, in id order
per channel, with retries and backoff; a failed delivery is retried, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.db.models import ConversationRef, Hop, Item, Outbox, Person, PostedMessage, Team
from bot.db.session import Database
from bot.messages import Message

log = logging.getLogger("looplink.outbox")

LEASE = timedelta(seconds=60)
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Address:
    """Where to deliver on one platform, resolved from the org and stored references."""

    dest_kind: str  # "person" or "team"
    dest_id: str
    platform_id: str | None  # Slack user/channel id, Teams user/channel id, local id
    ref: dict[str, Any] | None  # stored conversation reference, if any


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    address: Address
    message: Message
    update_key: str | None
    previous: dict[str, Any] | None  # where the message with this update_key was posted


@dataclass
class SendResult:
    ok: bool
    ref: dict[str, Any] | None = None  # where it landed (for later in-place updates)
    conversation: dict[str, Any] | None = None  # a conversation reference worth keeping
    retry_after: float | None = None
    permanent: bool = False
    error: str = ""


class Sender(Protocol):
    platform: str

    async def deliver(self, delivery: Delivery) -> SendResult: ...


@dataclass
class Fanout:
    """Which platforms a new message goes to. Set once by the server at start-up."""

    platforms: tuple[str, ...] = ("local",)
    wake: asyncio.Event | None = field(default=None, repr=False)

    def person_platforms(self, person: Person, refs: Iterable[ConversationRef]) -> list[str]:
        """One platform per person: the one they last used with us, else the first that
        knows them (Slack, then Teams); platforms without user ids (local) reach everyone."""
        used = [r.platform for r in sorted(refs, key=lambda r: r.updated_at, reverse=True)]
        for p in used:
            if p in self.platforms:
                return [p]
        chat_first = sorted(self.platforms, key=lambda p: p not in ("slack", "teams"))
        for p in chat_first:
            if _reachable(p, person.slack_id, person.teams_id or person.teams_aad_id):
                return [p]
        return []

    def team_platforms(self, team: Team) -> list[str]:
        """Every platform on which the team has a channel (local: always)."""
        return [p for p in self.platforms if _reachable(p, team.slack_channel, team.teams_channel)]


def _reachable(platform: str, slack_id: str | None, teams_id: str | None) -> bool:
    if platform == "slack":
        return bool(slack_id)
    if platform == "teams":
        return bool(teams_id)
    return True


async def enqueue(
    session: AsyncSession,
    fanout: Fanout,
    now: datetime,
    dest_kind: str,
    dest_id: str,
    message: Message,
    *,
    update_key: str | None = None,
    track: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    platform: str | None = None,
) -> list[Outbox]:
    """Queue `message` for a person or team on each platform that reaches them.

    `platform` restricts it to one platform (an adapter answering a person where they wrote).
    """
    if dest_kind == "person":
        person = await session.get(Person, dest_id)
        if person is None:
            return []
        refs = (
            await session.scalars(
                select(ConversationRef).where(
                    ConversationRef.owner_kind == "person", ConversationRef.owner_id == dest_id
                )
            )
        ).all()
        platforms = fanout.person_platforms(person, refs)
    else:
        team = await session.get(Team, dest_id)
        if team is None:
            return []
        platforms = fanout.team_platforms(team)
    if platform is not None:
        platforms = [platform] if platform in fanout.platforms else []
    rows = []
    for name in platforms:
        row = Outbox(
            platform=name,
            dest_kind=dest_kind,
            dest_id=dest_id,
            channel_key=f"{name}:{dest_kind}:{dest_id}",
            update_key=update_key,
            payload=message.to_json(),
            track=track or {},
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            dedupe_key=f"{dedupe_key}:{name}" if dedupe_key else None,
            last_error="",
        )
        session.add(row)
        rows.append(row)
    if rows and fanout.wake is not None:
        fanout.wake.set()
    return rows


class Dispatcher:
    """Delivers pending outbox rows through the registered senders."""

    def __init__(
        self, db: Database, clock: Clock, senders: Iterable[Sender], batch: int = 200
    ) -> None:
        self.db = db
        self.clock = clock
        self.senders = {s.platform: s for s in senders}
        self.batch = batch
        self.wake = asyncio.Event()
        self._stopping = False
        self.concurrency = 16
        # Results the platform gave but the database could not take (it was down): recorded
        # first thing when it is back, so a message Slack already accepted is not sent again
        # when its lease runs out.
        self._unrecorded: list[tuple[Outbox, SendResult]] = []

    def add_sender(self, sender: Sender) -> None:
        self.senders[sender.platform] = sender

    async def _lease_heads(self) -> list[tuple[Outbox, Address, dict[str, Any] | None]]:
        """Lease the first pending row of each channel, if it is due (at most `batch` rows).

        Heads are found per channel in SQL, so a channel with a long queue (a bulk job, a
        channel Slack is rate-limiting) never hides the other channels' messages.
        """
        now = self.clock.now()
        async with self.db.transaction() as s:
            other = aliased(Outbox)
            heads = (
                select(func.min(other.id))
                .where(other.status == "pending", other.platform.in_(list(self.senders)))
                .group_by(other.channel_key)
            )
            q = (
                select(Outbox)
                .where(
                    Outbox.id.in_(heads),
                    Outbox.next_attempt_at <= now,
                    or_(Outbox.lease_until.is_(None), Outbox.lease_until <= now),
                )
                .order_by(Outbox.id)
                .limit(self.batch)
            )
            if self.db.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            chosen = list((await s.scalars(q)).all())
            for row in chosen:
                row.lease_until = now + LEASE
            addresses = await self._addresses(s, chosen)
            previous = await self._previous(s, chosen)
            return [
                (row, addresses[row.id], previous.get((row.update_key, row.platform)))
                for row in chosen
            ]

    async def _addresses(self, s: AsyncSession, rows: list[Outbox]) -> dict[int, Address]:
        """Where each row goes, resolved for the whole batch with a few queries."""
        person_ids = {r.dest_id for r in rows if r.dest_kind == "person"}
        team_ids = {r.dest_id for r in rows if r.dest_kind != "person"}
        people = (
            {p.id: p for p in await s.scalars(select(Person).where(Person.id.in_(person_ids)))}
            if person_ids
            else {}
        )
        teams = (
            {t.id: t for t in await s.scalars(select(Team).where(Team.id.in_(team_ids)))}
            if team_ids
            else {}
        )
        refs: dict[tuple[str, str, str], dict[str, Any]] = {}
        if rows:
            q = select(ConversationRef).where(
                ConversationRef.owner_id.in_({r.dest_id for r in rows})
            )
            refs = {(c.owner_kind, c.owner_id, c.platform): c.ref for c in await s.scalars(q)}
        out: dict[int, Address] = {}
        for row in rows:
            platform_id: str | None
            if row.dest_kind == "person":
                person = people.get(row.dest_id)
                platform_id = {
                    "slack": person.slack_id if person else None,
                    "teams": (person.teams_id or person.teams_aad_id) if person else None,
                }.get(row.platform, row.dest_id)
            else:
                team = teams.get(row.dest_id)
                platform_id = {
                    "slack": team.slack_channel if team else None,
                    "teams": team.teams_channel if team else None,
                }.get(row.platform, row.dest_id)
            ref = refs.get((row.dest_kind, row.dest_id, row.platform))
            out[row.id] = Address(row.dest_kind, row.dest_id, platform_id, ref)
        return out

    async def _previous(
        self, s: AsyncSession, rows: list[Outbox]
    ) -> dict[tuple[str | None, str], dict[str, Any]]:
        """Where earlier messages with the rows' update keys were posted (to edit them)."""
        keys = {r.update_key for r in rows if r.update_key}
        if not keys:
            return {}
        q = select(PostedMessage).where(PostedMessage.update_key.in_(keys))
        return {(p.update_key, p.platform): p.ref for p in await s.scalars(q)}

    async def run_once(self) -> int:
        """Deliver every head row that is due; returns how many were delivered."""
        while self._unrecorded:  # raises while the database is still away: retried next round
            await self._record(*self._unrecorded[0])
            self._unrecorded.pop(0)
        delivered = 0
        while True:
            leased = await self._lease_heads()
            if not leased:
                return delivered
            sem = asyncio.Semaphore(self.concurrency)
            results = await asyncio.gather(*(self._deliver_limited(sem, *x) for x in leased))
            n = sum(1 for ok in results if ok)
            delivered += n
            if n == 0:
                return delivered

    async def _deliver_limited(
        self, sem: asyncio.Semaphore, row: Outbox, address: Address, previous: dict[str, Any] | None
    ) -> bool:
        async with sem:
            return await self._deliver(row, address, previous)

    async def _deliver(
        self, row: Outbox, address: Address, previous: dict[str, Any] | None
    ) -> bool:
        sender = self.senders[row.platform]
        delivery = Delivery(
            row.id, address, Message.from_json(row.payload), row.update_key, previous
        )
        try:
            result = await sender.deliver(delivery)
        except Exception as e:  # a sender bug or network error: retry later, never drop
            log.warning("outbox %s: %s failed: %s", row.id, row.platform, type(e).__name__)
            result = SendResult(ok=False, error=f"{type(e).__name__}: {e}"[:500])
        try:
            await self._record(row, result)
        except Exception as e:
            log.warning(
                "outbox %s: could not record the result (%s); will record it when the database is back",
                row.id,
                type(e).__name__,
            )
            self._unrecorded.append((row, result))
        return result.ok

    async def _record(self, row: Outbox, result: SendResult) -> None:
        now = self.clock.now()
        attempts = row.attempts + 1  # the row is leased: nobody else changed it
        values: dict[str, Any] = {"lease_until": None, "attempts": attempts}
        if result.ok:
            values.update(status="sent", sent_at=now, last_error="")
        elif result.permanent:
            values.update(status="failed", last_error=result.error[:1000])
            log.error("outbox %s: permanent failure on %s: %s", row.id, row.platform, result.error)
        else:
            delay = result.retry_after
            if delay is None:
                delay = min(MAX_BACKOFF, 2.0 ** min(attempts, 9))
            values.update(
                next_attempt_at=now + timedelta(seconds=delay), last_error=result.error[:1000]
            )
        async with self.db.transaction() as s:
            done = await s.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not getattr(done, "rowcount", 1):
                return
            if result.ok:
                if row.update_key and result.ref is not None:
                    await _upsert_posted(s, row.update_key, row.platform, result.ref)
                await _stamp(s, row.track, now)
            if result.conversation is not None:
                await save_conversation_ref(
                    s, row.dest_kind, row.dest_id, row.platform, result.conversation, now
                )

    async def run_forever(self, poll: float = 1.0) -> None:
        while not self._stopping:
            self.wake.clear()  # before the round: a wake during the round runs another one
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox dispatch round failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=poll)

    def stop(self) -> None:
        self._stopping = True
        self.wake.set()


async def _upsert_posted(s: AsyncSession, key: str, platform: str, ref: dict[str, Any]) -> None:
    posted = await s.get(PostedMessage, (key, platform))
    if posted is None:
        s.add(PostedMessage(update_key=key, platform=platform, ref=ref))
    else:
        posted.ref = ref


async def _stamp(s: AsyncSession, track: dict[str, Any], now: datetime) -> None:
    """Record that the loop reached someone: a team below (hop) or the reporter."""
    if "hop" in track:
        await s.execute(
            update(Hop)
            .where(Hop.id == int(track["hop"]), Hop.told_at.is_(None))
            .values(told_at=now)
        )
    if "reporter" in track:
        await s.execute(
            update(Item)
            .where(Item.id == int(track["reporter"]), Item.reporter_told_at.is_(None))
            .values(reporter_told_at=now)
        )


async def save_conversation_ref(
    s: AsyncSession,
    owner_kind: str,
    owner_id: str,
    platform: str,
    ref: dict[str, Any],
    now: datetime,
) -> None:
    row = await s.get(ConversationRef, (owner_kind, owner_id, platform))
    if row is None:
        s.add(
            ConversationRef(
                owner_kind=owner_kind, owner_id=owner_id, platform=platform, ref=ref, updated_at=now
            )
        )
    elif row.ref != ref:
        row.ref = ref
        row.updated_at = now
