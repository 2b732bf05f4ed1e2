"""The standing agenda and the weekly digest from chat.

    agenda                    your team's next agenda (in a team channel: that team's)
    agenda add TEXT           put an item on the next agenda; it carries forward until done
    agenda action [@who] TEXT record an action item (shown with its status next meeting)
    agenda done A3            mark agenda item A3 done
    digest                    this week's digest for the teams you lead or liaise for

Slack's `/looplink agenda add ...` and Teams' `agenda add ...` both arrive here.
`agenda #riverside add ...` (or `agenda riverside`) picks one of your other teams.
"""

from __future__ import annotations

from bot import limits
from bot.authority import Act
from bot.content.agenda import build_agenda
from bot.content.common import meetings
from bot.content.digest import build_digest
from bot.db.models import AgendaItem, Team
from bot.domain import MAX_TEXT
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import when as _when
from bot.messages import Message
from flows.events import FlowResult
from flows.registry import Ctx, command

VERBS = ("add", "action", "done")


async def _pick_team(ctx: Ctx, args: str) -> tuple[Team, str]:
    """The team an agenda command is about, and the rest of the arguments."""
    d = ctx.loop.dir
    first, _, rest = args.strip().partition(" ")
    if first and first.lower() not in VERBS:
        named = await d.find_team(first)
        if named is not None:
            await ctx.loop.authority.require(
                ctx.person.id,
                Act.USE_AGENDA,
                named,
                f"You are not on {named.name}, so its agenda is not yours to change.",
            )
            return named, rest.strip()
    if ctx.ev.channel:
        team = await ctx.channel_team()
        if team is not None and team.active:
            await ctx.loop.authority.require(ctx.person.id, Act.USE_AGENDA, team)
            return team, args.strip()
    home = await d.home_team(ctx.person.id)
    if home is None:
        raise NotAllowed("You are not on any implementation team, so there is no agenda for you.")
    return home, args.strip()


def _text(raw: str, what: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidInput(f"Say what to {what}, e.g. 'agenda add review the coaching schedule'.")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"That is too long ({len(text)} characters); keep it under {MAX_TEXT}.")
    return text


@command("agenda")
async def agenda_command(ctx: Ctx, args: str) -> FlowResult:
    """Your team's next agenda; `agenda add ...` puts an item on it."""
    team, rest = await _pick_team(ctx, args)
    verb, _, text = rest.partition(" ")
    verb = verb.lower()
    now = ctx.rt.clock.now()
    if verb == "done":
        return await _done(ctx, text)
    if verb in ("add", "action"):
        owner = None
        body = text
        if verb == "action" and body.startswith("@"):
            token, _, body = body.partition(" ")
            owner = await ctx.loop.dir.find_person(token)
            if owner is None:
                raise InvalidInput(f"I could not find '{token}' to own that action item.")
        await limits.check(ctx.s, ctx.person.id, limits.AGENDA, now)
        entry = AgendaItem(
            team_id=team.id,
            kind="action" if verb == "action" else "topic",
            text=_text(body, "add"),
            added_by=ctx.person.id,
            owner_id=owner.id if owner else None,
            created_at=now,
        )
        ctx.s.add(entry)
        await ctx.s.flush()
        when = meetings(team, now, None).this
        at = f" ({_when(when, team.timezone)})" if when else ""
        kind = "action item" if entry.kind == "action" else "item"
        return FlowResult(
            replies=[
                Message(
                    text=f'Added {kind} A{entry.id} to the next agenda of {team.name}{at}: "{entry.text[:200]}". It stays on the agenda until someone says `agenda done A{entry.id}`.'
                )
            ]
        )
    if verb:
        raise InvalidInput(
            "Try 'agenda' to see the next agenda, 'agenda add ...' to add an item, or 'agenda done A3'."
        )
    return FlowResult(replies=[await build_agenda(ctx.s, team, now)])


async def _done(ctx: Ctx, ref: str) -> FlowResult:
    try:
        entry_id = int(ref.strip().upper().lstrip("A#"))
    except ValueError as e:
        raise InvalidInput("Say which item, e.g. 'agenda done A3'.") from e
    entry = await ctx.s.get(AgendaItem, entry_id)
    entry_team = await ctx.loop.dir.team(entry.team_id) if entry is not None else None
    if (
        entry is None
        or entry_team is None
        or not await ctx.loop.authority.may(ctx.person.id, Act.USE_AGENDA, entry_team)
    ):
        raise NotFound(f"There is no agenda item A{entry_id} on your teams' agendas.")
    if entry.done_at is not None:
        return FlowResult(replies=[Message(text=f"A{entry.id} was already done.")])
    entry.done_at = ctx.rt.clock.now()
    entry.done_by = ctx.person.id
    return FlowResult(replies=[Message(text=f'Done: A{entry.id} "{entry.text[:200]}".')])


@command("digest", "resumen")
async def digest_command(ctx: Ctx, args: str) -> FlowResult:
    """This week's digest for the teams you lead or liaise for."""
    authority = ctx.loop.authority
    if args.strip():
        named = await ctx.loop.dir.find_team(args.strip())
        if named is None:
            raise NotFound(f"There is no team called '{args.strip()}'.")
        allowed = [named] if await authority.may(ctx.person.id, Act.LEAD, named) else []
    else:
        allowed = await authority.teams_where(ctx.person.id, Act.LEAD)
    if not allowed:
        raise NotAllowed(
            "The digest is for team leads and liaisons. Type 'agenda' to see your team's next agenda."
        )
    now = ctx.rt.clock.now()
    return FlowResult(replies=[await build_digest(ctx.s, t, now) for t in allowed])
