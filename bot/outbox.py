"""The durable outbox: every outgoing message is a row before anyone is told "done".

`enqueue` runs inside the caller's transaction (so a message exists if and only if the change
that caused it committed). `Dispatcher` delivers rows through the platform senders, in id order
per channel, with retries and backoff; a failed delivery is retried, never dropped.

What a sender's refusal does (`SendResult`):
- retry soon: a network error, a 5xx, a rate limit: the row stays `pending`, retried with
  backoff (or after Retry-After); its channel waits behind it, in order.
- retry later, and tell the admin (`fix` set): the platform refuses until someone fixes
  something (invite the bot to a channel, replace a revoked token, correct the org file). The
  row is `parked`: retried every few minutes, its channel waits behind it, and the fix is
  logged as an error, listed by `looplink outbox list` and shown on the dashboard. With
  `platform_wide` (the token itself is refused), the whole platform pauses as long.
- truly permanent (`permanent`): this message can never be delivered as it is (the platform
  rejects its content). The row is `failed` and its channel goes on without it; it stays
  listed until an admin retries it (`looplink outbox retry`) or discards it with a reason.
Nothing leaves the outbox except by delivery or by an admin's recorded decision.
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
from bot.db.models import (
    ConversationRef,
    Hop,
    Item,
    Outbox,
    PlatformId,
    PostedMessage,
)
from bot.db.session import Database
from bot.directory import Directory
from bot.messages import Message
from bot.platform_info import PlatformInfo

log = logging.getLogger("looplink.outbox")

LEASE = timedelta(seconds=60)
MAX_BACKOFF = 300.0
PARKED_FIRST = 30.0  # a parked row is tried again after 30 s, then 1, 2, 4, 8, 15 minutes
PARKED_MAX = 900.0
# Rows the dispatcher delivers (in order per channel); "failed" and "discarded" wait for no one.
DUE_STATUSES = ("pending", "parked")


@dataclass(frozen=True)
class Address:
    """Where to deliver on one platform, resolved from the org and stored references."""

    dest_kind: str  # "person" or "team"
    dest_id: str
    platform_id: str | None  # the user or channel id to reach on the platform (PlatformId)
    ref: dict[str, Any] | None  # stored conversation reference, if any (for that identity)
    scope: str = ""  # the workspace or tenant `platform_id` lives in ("" without workspaces)


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    address: Address
    message: Message
    update_key: str | None
    previous: dict[str, Any] | None  # where the message with this update_key was posted
    # An earlier attempt was never recorded (its lease ran out: a crash, or a process stuck
    # past the lease): the platform may have the message already. A sender that can look
    # (Slack: the post's metadata in the channel history) does so before sending again.
    unrecorded: bool = False
    queued_at: datetime | None = None


@dataclass
class SendResult:
    ok: bool
    ref: dict[str, Any] | None = None  # where it landed (for later in-place updates)
    conversation: dict[str, Any] | None = None  # a conversation reference worth keeping
    retry_after: float | None = None
    permanent: bool = False  # this message can never be delivered as it is
    error: str = ""
    fix: str = ""  # the platform refuses until an admin does this: retry later, and tell them
    platform_wide: bool = False  # the refusal concerns every delivery on this platform (token)


class Sender(Protocol):
    platform: str

    async def deliver(self, delivery: Delivery) -> SendResult: ...


@dataclass
class Fanout:
    """Which platforms a new message goes to. Set once by the server at start-up."""

    platforms: tuple[PlatformInfo, ...] = ()
    wake: asyncio.Event | None = field(default=None, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.platforms)

    def info(self, platform: str) -> PlatformInfo | None:
        return next((p for p in self.platforms if p.name == platform), None)

    def native(self, platform: str) -> bool:
        """Whether `platform` addresses people and teams by their Looplink ids."""
        return any(p.name == platform and p.native_ids for p in self.platforms)

    def person_platforms(self, known_on: set[str], refs: Iterable[ConversationRef]) -> list[str]:
        """One platform per person: the one they last used with us, else the first that knows
        them (`known_on`: the platforms with an id for them, in registration order); platforms
        that address people by Looplink ids (local) reach everyone, after those."""
        used = [r.platform for r in sorted(refs, key=lambda r: r.updated_at, reverse=True)]
        for p in used:
            if p in self.names:
                return [p]
        for info in sorted(self.platforms, key=lambda i: i.native_ids):
            if info.native_ids or info.name in known_on:
                return [info.name]
        return []

    def team_platforms(self, known_on: set[str]) -> list[str]:
        """Every platform on which the team has a channel (native-id platforms: always)."""
        return [p.name for p in self.platforms if p.native_ids or p.name in known_on]


def channel_key(platform: str, dest_kind: str, dest_id: str) -> str:
    """The outbox's ordering key: rows with the same key are delivered in id order."""
    return f"{platform}:{dest_kind}:{dest_id}"


async def _ids_of(session: AsyncSession, owner_kind: str, owner_id: str) -> list[PlatformId]:
    """The person's or team's ids on every platform (identities, channels)."""
    q = select(PlatformId).where(
        PlatformId.owner_kind == owner_kind, PlatformId.owner_id == owner_id
    )
    return list((await session.scalars(q)).all())


def usable(ref: ConversationRef, ids: Iterable[PlatformId]) -> bool:
    """Whether a stored reference may be used: a person's only while the identity it was made
    for is still theirs (so a conversation never carries their messages to anyone else)."""
    if ref.owner_kind != "person":
        return True
    return bool(ref.identity) and any(
        i.platform == ref.platform and i.scope == ref.scope and i.value == ref.identity for i in ids
    )


def preferred(ids: Iterable[PlatformId]) -> PlatformId | None:
    """The id to address when no conversation says which: the platform's preferred key, the
    org file's before a learnt one, then by workspace (stable)."""
    return min(ids, key=lambda i: (i.rank, i.origin != "org", i.scope), default=None)


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
    replace_pending: bool = False,
) -> list[Outbox]:
    """Queue `message` for a person or team on each platform that reaches them.

    `platform` restricts it to one platform (an adapter answering a person where they wrote).
    `replace_pending` (with an `update_key`): if that message is still waiting in the channel's
    queue, untouched, its content is replaced instead of queueing one more version: a notice
    edited many times in a burst costs the channel one post, not one per version.
    """
    platforms = await _platforms_for(session, fanout, dest_kind, dest_id)
    if platform is not None:
        platforms = [platform] if platform in fanout.names else []
    rows = []
    for name in platforms:
        key = channel_key(name, dest_kind, dest_id)
        if replace_pending and update_key is not None:
            done = await session.execute(
                update(Outbox)
                .where(
                    Outbox.channel_key == key,
                    Outbox.update_key == update_key,
                    Outbox.status == "pending",
                    Outbox.lease_until.is_(None),  # not being sent now (nor lost in a crash)
                )
                .values(payload=message.to_json())
                .execution_options(synchronize_session=False)
            )
            if getattr(done, "rowcount", 0):
                continue
        row = Outbox(
            platform=name,
            dest_kind=dest_kind,
            dest_id=dest_id,
            channel_key=key,
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


async def _platforms_for(
    session: AsyncSession, fanout: Fanout, dest_kind: str, dest_id: str
) -> list[str]:
    d = Directory(session)  # from the directory cache when the session may use it
    if dest_kind == "person":
        if await d.person(dest_id) is None:
            return []
        ids = await d.ids_of("person", dest_id)
        refs = (
            await session.scalars(
                select(ConversationRef).where(
                    ConversationRef.owner_kind == "person", ConversationRef.owner_id == dest_id
                )
            )
        ).all()
        return fanout.person_platforms(
            {i.platform for i in ids}, [r for r in refs if usable(r, ids)]
        )
    if await d.team(dest_id) is None:
        return []
    return fanout.team_platforms({i.platform for i in await d.ids_of("team", dest_id)})


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
        self._unrecorded: list[tuple[Outbox, SendResult, Address]] = []
        # Platforms that refused everything (a revoked token): not tried again until then.
        self._paused: dict[str, datetime] = {}

    def add_sender(self, sender: Sender) -> None:
        self.senders[sender.platform] = sender

    async def _lease_heads(
        self, channels: Iterable[str] | None = None
    ) -> list[tuple[Outbox, Address, dict[str, Any] | None, bool]]:
        """Lease the first pending row of each channel (of `channels` only, when given), if it
        is due (at most `batch` rows).

        Heads are found per channel in SQL, so a channel with a long queue (a bulk job, a
        channel Slack is rate-limiting) never hides the other channels' messages.
        """
        now = self.clock.now()
        platforms = [p for p in self.senders if self._paused.get(p, now) <= now]
        if not platforms:
            return []
        async with self.db.transaction() as s:
            other = aliased(Outbox)
            heads = select(func.min(other.id)).where(
                other.status.in_(DUE_STATUSES), other.platform.in_(platforms)
            )
            if channels is not None:
                heads = heads.where(other.channel_key.in_(list(channels)))
            heads = heads.group_by(other.channel_key)
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
            # a lease is cleared when a result is recorded: one that ran out was never recorded
            unrecorded = {row.id for row in chosen if row.lease_until is not None}
            for row in chosen:
                row.lease_until = now + LEASE
            addresses = await self._addresses(s, chosen)
            previous = await self._previous(s, chosen)
            return [
                (
                    row,
                    addresses[row.id],
                    previous.get((row.update_key, row.platform)),
                    row.id in unrecorded,
                )
                for row in chosen
            ]

    async def _addresses(self, s: AsyncSession, rows: list[Outbox]) -> dict[int, Address]:
        """Where each row goes, resolved for the whole batch with two queries: a person's
        stored conversation if it is still one of their identities', else their preferred id
        (and the workspace it lives in)."""
        dest_ids = {r.dest_id for r in rows}
        refs: dict[tuple[str, str, str], ConversationRef] = {}
        ids: dict[tuple[str, str, str], list[PlatformId]] = {}
        if rows:
            q = select(ConversationRef).where(ConversationRef.owner_id.in_(dest_ids))
            refs = {(c.owner_kind, c.owner_id, c.platform): c for c in await s.scalars(q)}
            q2 = select(PlatformId).where(PlatformId.owner_id.in_(dest_ids))
            for i in await s.scalars(q2):
                ids.setdefault((i.owner_kind, i.owner_id, i.platform), []).append(i)
        out: dict[int, Address] = {}
        for row in rows:
            key = (row.dest_kind, row.dest_id, row.platform)
            mine = ids.get(key, [])
            ref = refs.get(key)
            chosen: PlatformId | None = None
            if ref is not None and not usable(ref, mine):
                ref = None
            if ref is not None and row.dest_kind == "person":
                chosen = next(i for i in mine if i.scope == ref.scope and i.value == ref.identity)
            chosen = chosen or preferred(mine)
            out[row.id] = Address(
                row.dest_kind,
                row.dest_id,
                chosen.value if chosen else None,
                dict(ref.ref) if ref is not None else None,
                chosen.scope if chosen else "",
            )
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

    async def run_once(self, channels: Iterable[str] | None = None) -> int:
        """Deliver every head row that is due (in `channels` only, when given: an adapter
        delivering a person's answers at once, in order, durably); returns how many were
        delivered. A failed delivery stays queued and is retried by `run_forever`."""
        while self._unrecorded:  # raises while the database is still away: retried next round
            await self._record(*self._unrecorded[0])
            self._unrecorded.pop(0)
        delivered = 0
        wanted = None if channels is None else list(channels)
        while True:
            leased = await self._lease_heads(wanted)
            if not leased:
                return delivered
            sem = asyncio.Semaphore(self.concurrency)
            results = await asyncio.gather(*(self._deliver_limited(sem, *x) for x in leased))
            n = sum(1 for ok in results if ok)
            delivered += n
            if n == 0:
                return delivered

    async def _deliver_limited(
        self,
        sem: asyncio.Semaphore,
        row: Outbox,
        address: Address,
        previous: dict[str, Any] | None,
        unrecorded: bool,
    ) -> bool:
        async with sem:
            return await self._deliver(row, address, previous, unrecorded)

    async def _deliver(
        self,
        row: Outbox,
        address: Address,
        previous: dict[str, Any] | None,
        unrecorded: bool = False,
    ) -> bool:
        sender = self.senders[row.platform]
        if unrecorded:
            log.warning(
                "outbox %s: an earlier attempt on %s was never recorded (a crash?); "
                "looking for it before sending again",
                row.id,
                row.platform,
            )
        delivery = Delivery(
            row.id,
            address,
            Message.from_json(row.payload),
            row.update_key,
            previous,
            unrecorded=unrecorded,
            queued_at=row.created_at,
        )
        try:
            result = await sender.deliver(delivery)
        except Exception as e:  # a sender bug or network error: retry later, never drop
            log.warning("outbox %s: %s failed: %s", row.id, row.platform, type(e).__name__)
            result = SendResult(ok=False, error=f"{type(e).__name__}: {e}"[:500])
        try:
            await self._record(row, result, address)
        except Exception as e:
            log.warning(
                "outbox %s: could not record the result (%s); will record it when the database is back",
                row.id,
                type(e).__name__,
            )
            self._unrecorded.append((row, result, address))
        return result.ok

    async def _record(self, row: Outbox, result: SendResult, address: Address) -> None:
        now = self.clock.now()
        attempts = row.attempts + 1  # the row is leased: nobody else changed it
        values: dict[str, Any] = {"lease_until": None, "attempts": attempts}
        if result.ok:
            values.update(status="sent", sent_at=now, last_error="", fix="")
        elif result.permanent:
            values.update(
                status="failed",
                last_error=result.error[:1000],
                fix=result.fix[:1000],
                parked_at=row.parked_at or now,
            )
            log.error(
                "outbox %s: %s refused this message for good: %s. It waits in "
                "`looplink outbox list` for an admin to retry or discard it.%s",
                row.id,
                row.platform,
                result.error,
                f" To fix: {result.fix}" if result.fix else "",
            )
        elif result.fix:
            delay = result.retry_after or _parked_delay(row, now)
            values.update(
                status="parked",
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=result.error[:1000],
                fix=result.fix[:1000],
                parked_at=row.parked_at or now,
            )
            if result.platform_wide:
                self._paused[row.platform] = now + timedelta(seconds=delay)
            first = row.status != "parked" or row.fix != result.fix
            (log.error if first else log.warning)(
                "outbox %s: %s cannot deliver until an admin acts: %s. To fix: %s "
                "(retried in %.0f s; `looplink outbox retry %s` to retry now)",
                row.id,
                row.platform,
                result.error,
                result.fix,
                delay,
                row.id,
            )
        else:
            backoff = result.retry_after
            if backoff is None:
                backoff = min(MAX_BACKOFF, 2.0 ** min(attempts, 9))
            values.update(
                status="pending",
                next_attempt_at=now + timedelta(seconds=backoff),
                last_error=result.error[:1000],
                fix="",
            )
        q = update(Outbox).where(Outbox.id == row.id)
        if not result.ok:  # an admin discarded it meanwhile: that decision stands
            q = q.where(Outbox.status != "discarded")
        async with self.db.transaction() as s:
            done = await s.execute(q.values(**values).execution_options(synchronize_session=False))
            if not getattr(done, "rowcount", 1):
                return
            if result.ok:
                if row.update_key and result.ref is not None:
                    await _upsert_posted(s, row.update_key, row.platform, result.ref)
                await _stamp(s, row.track, now)
            if result.conversation is not None:
                await save_conversation_ref(
                    s,
                    row.dest_kind,
                    row.dest_id,
                    row.platform,
                    result.conversation,
                    now,
                    scope=address.scope,
                    identity=(address.platform_id or "") if row.dest_kind == "person" else "",
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


def _parked_delay(row: Outbox, now: datetime) -> float:
    """Waiting as long again as the row has been parked: 30 s, 30 s, 1, 2, 4 ... 15 minutes."""
    since = row.parked_at if row.status == "parked" and row.parked_at else now
    return min(PARKED_MAX, max(PARKED_FIRST, (now - since).total_seconds()))


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
    *,
    scope: str = "",
    identity: str = "",
) -> None:
    """Keep how to reach a person or team. A person's reference is for one of their
    identities (`identity`, the user id, in workspace `scope`): store it only for the identity
    the conversation belongs to; it is used only while that identity is theirs (`usable`)."""
    values = {"ref": ref, "scope": scope, "identity": identity}
    row = await s.get(ConversationRef, (owner_kind, owner_id, platform))
    if row is None:
        s.add(
            ConversationRef(
                owner_kind=owner_kind,
                owner_id=owner_id,
                platform=platform,
                updated_at=now,
                **values,
            )
        )
    elif (row.ref, row.scope, row.identity) != (ref, scope, identity):
        row.ref, row.scope, row.identity = ref, scope, identity
        row.updated_at = now
