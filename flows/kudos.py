"""Recognition: `kudos @someone for ...` (a person or a team, optionally about an item)."""

from __future__ import annotations

import re

from bot.db.models import Kudos
from bot.i18n import _
from bot.messages import Message
from bot.texts import texts
from flows.events import FlowResult
from flows.forms import kudos_form
from flows.registry import Ctx, command, form

ITEM_RE = re.compile(r"#(\d+)")


async def sent(ctx: Ctx, k: Kudos) -> Message:
    """What the giver hears: to whom it went, and in which channel it was posted."""
    person = await ctx.loop.dir.person(k.person_id) if k.person_id else None
    team = await ctx.loop.dir.home_team(person.id) if person else None
    if person is None and k.team_id:
        team = await ctx.loop.dir.team(k.team_id)
    text = texts().render(
        "kudos_sent",
        is_person=person is not None,
        target=person.name if person else (team.name if team else ""),
        channel=team.name if team else "",
        text=k.text,
    )
    return Message(text=text)


@command("kudos", "thanks", "reconocer", "gracias")
async def kudos_command(ctx: Ctx, args: str) -> FlowResult:
    """Recognise a person or a team for something specific: kudos @alice for ..."""
    text = args.strip()
    if not text:
        return FlowResult(form=kudos_form())
    target, _sep, rest = text.partition(" ")
    body = rest.strip()
    for word in ("for ", "por "):
        if body.lower().startswith(word):
            body = body[len(word) :].strip()
    if not body:
        return FlowResult(form=kudos_form(target=target))
    m = ITEM_RE.search(body)
    k = await ctx.loop.kudos(ctx.person.id, target, body, item_id=m.group(1) if m else None)
    return FlowResult(replies=[await sent(ctx, k)])


@form("kudos")
async def kudos_submit(ctx: Ctx, values: dict[str, str], _context: dict[str, str]) -> FlowResult:
    if not str(values.get("target") or "").strip():
        return FlowResult(errors={"target": _("Who are you recognising?")})
    if not str(values.get("text") or "").strip():
        return FlowResult(errors={"text": _("Say what they did, specifically.")})
    k = await ctx.loop.kudos(
        ctx.person.id,
        str(values["target"]),
        str(values["text"]),
        item_id=str(values.get("item") or "").strip() or None,
        driver=str(values.get("driver") or "").strip() or None,
    )
    return FlowResult(replies=[await sent(ctx, k)])
