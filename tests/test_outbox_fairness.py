"""The outbox under load: one busy channel never holds up the others."""

from __future__ import annotations

from bot.clock import FixedClock
from bot.messages import Message
from bot.outbox import Delivery, Dispatcher, Fanout, SendResult, enqueue
from bot.platform_info import PlatformInfo
from bot.runtime import Runtime

FAKE = PlatformInfo("fake", "a fake platform", native_ids=True)


class Recorder:
    platform = "fake"

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []

    async def deliver(self, d: Delivery) -> SendResult:
        self.delivered.append((d.address.dest_id, d.message.text))
        return SendResult(ok=True, ref={"n": len(self.delivered)})


async def test_a_long_queue_in_one_channel_does_not_starve_the_others(
    org: Runtime, clock: FixedClock
) -> None:
    fanout = Fanout(platforms=(FAKE,))
    now = clock.now()
    # a bulk job queued 1,200 messages for Lincoln, then Riverside gets one
    async with org.db.transaction() as s:
        for i in range(1200):
            await enqueue(s, fanout, now, "team", "lincoln", Message(text=f"bulk {i}"))
        await enqueue(s, fanout, now, "team", "riverside", Message(text="decision needed"))
    sender = Recorder()
    d = Dispatcher(org.db, clock, [sender])
    # Lincoln's channel is paced (one message per round here); the first round must still
    # reach Riverside, whose message is behind 1,200 of Lincoln's in id order
    leased = await d._lease_heads()
    assert sorted(row.dest_id for row, *_ in leased) == ["lincoln", "riverside"]
