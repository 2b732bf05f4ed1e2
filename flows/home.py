"""Home: what a person sees on opening Looplink (Slack's App Home, a home page elsewhere).

Everyone sees their own reports and where each stands; team leads and liaisons also see
their team's queue (new, waiting on us, waiting on the team above, overdue).
"""

from __future__ import annotations

from bot.authority import Act
from bot.i18n import _
from bot.messages import Button, Message
from flows.events import FlowResult
from flows.registry import Ctx, command
from flows.triage import mine_message, queue_message


async def home_messages(ctx: Ctx) -> list[Message]:
    intro = Message(
        title="Looplink",
        text=_(
            "Report what gets in the way of your practice, share what works, and see what happened to it."
        ),
        buttons=(
            Button(_("Report a barrier"), "open:barrier", "", "primary"),
            Button(_("Share a success"), "open:success"),
            Button(_("Give kudos"), "open:kudos"),
        ),
    )
    out = [intro, await mine_message(ctx)]
    now = ctx.rt.clock.now()
    for team in await ctx.loop.authority.teams_where(ctx.person.id, Act.LEAD):
        out.append(await queue_message(ctx, team, now))
    return out


@command("home", "inicio")
async def home_command(ctx: Ctx, _args: str) -> FlowResult:
    """Your reports and, for leads, your team's queue."""
    return FlowResult(replies=await home_messages(ctx))
