"""The local adapter: Looplink without Slack or Teams (tests, the terminal chat, the playground)."""

from adapters.local.adapter import LocalChat, LocalSender
from adapters.local.contract import LOCAL

__all__ = ["LOCAL", "LocalChat", "LocalSender"]
