"""What a card offers besides decisions: its whole report, and thanks for a success."""

from __future__ import annotations

from bot.authority import Act
from bot.cards import full_report, item_card
from bot.errors import NotAllowed
from bot.messages import Message
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, action


@action("full_report")
async def full_report_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    """The whole card, every field in full, for a member of a team it passed through."""
    item = await ctx.loop.item(value)
    teams = [await ctx.loop.dir.team(h.team_id) for h in await ctx.loop.hops(item)]
    seen = [
        t
        for t in teams
        if t is not None and await ctx.loop.authority.may(ctx.person.id, Act.SHOW_CARDS, t)
    ]
    if not seen:
        raise NotAllowed("Only the teams this item passed through can read it in full.")
    card = await item_card(ctx.s, item, seen[-1], ctx.rt.clock.now())
    return FlowResult(replies=[full_report(card)], show_apart=True)


@action("thank")
async def thank_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    item = await ctx.loop.thank(ctx.person.id, value)
    said = texts().render("success_words", which="thanked", id=item.id)
    return FlowResult(replies=[Message(text=said)])
