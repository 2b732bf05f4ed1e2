"""Throttle guesses at a secret (the admin token, later any sign-in), per client.

A client that fails `max_failures` times within `window` is locked out for `lockout`: every
attempt then, right or wrong, is refused without being checked, so guessing costs time and a
lucky guess during the lockout is worth nothing. A success clears the client's failures.
Clients are tracked in memory (per process), at most `max_clients` of them (the oldest are
forgotten first), so a flood of addresses cannot exhaust memory.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock


@dataclass
class _Client:
    failures: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class Throttle:
    def __init__(
        self,
        clock: Clock,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
        max_clients: int = 10_000,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_clients = max_clients
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def locked(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None when it may try now."""
        c = self._clients.get(client)
        if c is None or c.locked_until is None:
            return None
        left = (c.locked_until - self.clock.now()).total_seconds()
        if left <= 0:
            c.locked_until = None
            c.failures.clear()
            return None
        return left

    def failed(self, client: str) -> None:
        now = self.clock.now()
        c = self._clients.pop(client, None) or _Client()
        self._clients[client] = c  # most recent last
        while c.failures and now - c.failures[0] > self.window:
            c.failures.popleft()
        c.failures.append(now)
        if len(c.failures) >= self.max_failures:
            c.locked_until = now + self.lockout
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)
