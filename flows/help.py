"""Help."""

from __future__ import annotations

from bot.messages import Button, Message
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, command


def help_message() -> Message:
    return Message(
        text=texts().render("help"),
        buttons=(
            Button("Report a barrier", "open:barrier", "", "primary"),
            Button("Share a success", "open:success"),
            Button("Give kudos", "open:kudos"),
            Button("My reports", "mine"),
        ),
    )


@command("help", "?", "hi", "hello")
async def help_command(_ctx: Ctx, _args: str) -> FlowResult:
    """What Looplink does and how to use it."""
    return FlowResult(replies=[help_message()])
