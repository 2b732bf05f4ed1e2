"""Help."""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Button, Message
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, command


def help_message() -> Message:
    return Message(
        text=texts().render("help"),
        buttons=(
            Button(_("Report a barrier"), "open:barrier", "", "primary"),
            Button(_("Share a success"), "open:success"),
            Button(_("Give kudos"), "open:kudos"),
            Button(_("My reports"), "mine"),
        ),
    )


@command("help", "?", "hi", "hello", "ayuda", "hola")
async def help_command(_ctx: Ctx, _args: str) -> FlowResult:
    """What Looplink does and how to use it."""
    return FlowResult(replies=[help_message()])
