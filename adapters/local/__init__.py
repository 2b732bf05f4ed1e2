"""The local adapter: Looplink without Slack or Teams (tests, the terminal chat, the playground)."""

from adapters.local.adapter import LocalChat, LocalSender

__all__ = ["LocalChat", "LocalSender"]
