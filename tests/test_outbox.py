"""The outbox: retries without loss, order per channel, edits in place, survives restarts."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import Outbox, PostedMessage
from bot.messages import Message
from bot.outbox import Delivery, Dispatcher, Fanout, SendResult, enqueue
from bot.platform_info import PlatformInfo
from bot.runtime import Runtime

FAKE = PlatformInfo("fake", "a fake platform", native_ids=True)


class FlakySender:
    """A platform that is down for a while, answers 429 once, then works."""

    platform = "fake"

    def __init__(self, failures: list[SendResult], failing: str = "lincoln") -> None:
        self.failures = failures
        self.failing = failing
        self.delivered: list[tuple[str, str, dict[str, object] | None]] = []

    async def deliver(self, d: Delivery) -> SendResult:
        if self.failures and d.address.dest_id == self.failing:
            return self.failures.pop(0)
        n = len(self.delivered)
        self.delivered.append((d.address.dest_id, d.message.text, d.previous))
        return SendResult(ok=True, ref={"n": n})


async def _put(rt: Runtime, dest: str, text: str, key: str | None = None) -> None:
    async with rt.db.transaction() as s:
        await enqueue(
            s,
            Fanout(platforms=(FAKE,)),
            rt.clock.now(),
            "team",
            dest,
            Message(text=text),
            update_key=key,
        )


async def test_retries_in_order_until_delivered(org: Runtime, clock: FixedClock) -> None:
    sender = FlakySender(
        [SendResult(ok=False, error="HTTP 500"), SendResult(ok=False, retry_after=30, error="429")]
    )
    d = Dispatcher(org.db, clock, [sender])
    for i in range(3):
        await _put(org, "lincoln", f"m{i}")
    await _put(org, "riverside", "r0")
    assert await d.run_once() == 1  # lincoln's head failed (500); riverside got through
    assert [t for _, t, _ in sender.delivered] == ["r0"]
    clock.advance(seconds=2)
    await d.run_once()  # 429 with Retry-After: 30
    before = len(sender.delivered)
    clock.advance(seconds=10)
    assert await d.run_once() == 0  # still waiting out Retry-After
    clock.advance(seconds=25)
    await d.run_once()
    lincoln = [t for dest, t, _ in sender.delivered if dest == "lincoln"]
    assert lincoln == ["m0", "m1", "m2"] and before < len(sender.delivered)
    async with org.db.transaction() as s:
        rows = (await s.scalars(select(Outbox).order_by(Outbox.id))).all()
    assert [r.status for r in rows] == ["sent"] * 4
    assert rows[0].attempts == 3  # 500, 429, then delivered
    assert len(sender.delivered) == 4  # nothing doubled


async def test_update_in_place_uses_previous_ref(org: Runtime, clock: FixedClock) -> None:
    sender = FlakySender([])
    d = Dispatcher(org.db, clock, [sender])
    await _put(org, "lincoln", "card v1", key="item:1:team:lincoln")
    await d.run_once()
    await _put(org, "lincoln", "card v2", key="item:1:team:lincoln")
    await d.run_once()
    assert sender.delivered[0][2] is None and sender.delivered[1][2] == {"n": 0}
    async with org.db.transaction() as s:
        posted = (await s.scalars(select(PostedMessage))).one()
    assert posted.ref == {"n": 1}


async def test_pending_messages_survive_a_restart(org: Runtime, clock: FixedClock) -> None:
    await _put(org, "lincoln", "before the crash")
    # the process dies before delivering; a new dispatcher (new process) finds the row
    sender = FlakySender([])
    assert await Dispatcher(org.db, clock, [sender]).run_once() == 1
    assert sender.delivered[0][1] == "before the crash"
    assert await Dispatcher(org.db, clock, [sender]).run_once() == 0  # and never twice


async def test_permanent_failure_is_recorded_and_does_not_block(
    org: Runtime, clock: FixedClock
) -> None:
    sender = FlakySender([SendResult(ok=False, permanent=True, error="channel_not_found")])
    d = Dispatcher(org.db, clock, [sender])
    await _put(org, "lincoln", "lost channel")
    await _put(org, "lincoln", "next")
    await d.run_once()
    await d.run_once()
    async with org.db.transaction() as s:
        rows = (await s.scalars(select(Outbox).order_by(Outbox.id))).all()
    assert [(r.status, r.last_error) for r in rows] == [
        ("failed", "channel_not_found"),
        ("sent", ""),
    ]


async def test_sender_exception_is_retried_not_dropped(org: Runtime, clock: FixedClock) -> None:
    class Boom(FlakySender):
        async def deliver(self, d: Delivery) -> SendResult:
            if not self.delivered and not getattr(self, "raised", False):
                self.raised = True
                raise ConnectionError("network down")
            return await super().deliver(d)

    sender = Boom([])
    d = Dispatcher(org.db, clock, [sender])
    await _put(org, "lincoln", "hello")
    await d.run_once()
    clock.advance(seconds=5)
    await d.run_once()
    assert [t for _, t, _ in sender.delivered] == ["hello"]
