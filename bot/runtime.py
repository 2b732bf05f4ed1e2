"""What a running Looplink holds: the database, the clock, the outbox and its senders."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock, SystemClock
from bot.db.session import Database
from bot.outbox import Dispatcher, Fanout, Sender
from bot.platform_info import PlatformInfo


@dataclass
class Runtime:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    fanout: Fanout = field(default_factory=Fanout)
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.db, self.clock, [])
        self.fanout.wake = self.dispatcher.wake

    def add_platform(self, info: PlatformInfo, sender: Sender) -> None:
        """Deliver `info.name`'s outbox rows through `sender`; new messages may go there."""
        self.dispatcher.add_sender(sender)
        if info.name not in self.fanout.names:
            self.fanout.platforms = (*self.fanout.platforms, info)
