"""The buttons on a burst notice (bot/burst.py): show one listed report's card."""

from __future__ import annotations

from bot.messages import Message
from flows.events import FlowResult
from flows.registry import Ctx, action


@action("card")
async def show_card(ctx: Ctx, _which: str, value: str) -> FlowResult:
    item = await ctx.loop.show_card(ctx.person.id, value)
    return FlowResult(
        replies=[Message(text=f"The card of #{item.id} is being posted in the team's channel.")]
    )
