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
from bot.i18n import _
from bot.i18n import when as _when
from bot.messages import Message
from flows.events import FlowResult
from flows.registry import Ctx, command, fold

VERBS = ("add", "action", "done")
SPANISH_VERBS = {"agregar": "add", "anadir": "add", "tarea": "action", "hecho": "done"}


async def _pick_team(ctx: Ctx, args: str) -> tuple[Team, str]:
    """The team an agenda command is about, and the rest of the arguments."""
    d = ctx.loop.dir
    first, _sep, rest = args.strip().partition(" ")
    if first and fold(first) not in (*VERBS, *SPANISH_VERBS):
        named = await d.find_team(first)
        if named is not None:
            await ctx.loop.authority.require(
                ctx.person.id,
                Act.USE_AGENDA,
                named,
                _(
                    "You are not on %(team)s, so its agenda is not yours to change.",
                    team=named.name,
                ),
            )
            return named, rest.strip()
    if ctx.ev.channel:
        team = await ctx.channel_team()
        if team is not None and team.active:
            await ctx.loop.authority.require(ctx.person.id, Act.USE_AGENDA, team)
            return team, args.strip()
    home = await d.home_team(ctx.person.id)
    if home is None:
        raise NotAllowed(
            _("You are not on any implementation team, so there is no agenda for you.")
        )
    return home, args.strip()


def _text(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidInput(_("Say what to add, e.g. 'agenda add review the coaching schedule'."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            _(
                "That is too long (%(n)s characters); keep it under %(max)s.",
                n=len(text),
                max=MAX_TEXT,
            )
        )
    return text


@command("agenda")
async def agenda_command(ctx: Ctx, args: str) -> FlowResult:
    """Your team's next agenda; `agenda add ...` puts an item on it."""
    team, rest = await _pick_team(ctx, args)
    verb, _sep, text = rest.partition(" ")
    verb = fold(verb)
    verb = SPANISH_VERBS.get(verb, verb)
    now = ctx.rt.clock.now()
    if verb == "done":
        return await _done(ctx, text)
    if verb in ("add", "action"):
        owner = None
        body = text
        if verb == "action" and body.startswith("@"):
            token, _sep, body = body.partition(" ")
            owner = await ctx.loop.dir.find_person(token)
            if owner is None:
                raise InvalidInput(
                    _("I could not find '%(who)s' to own that action item.", who=token)
                )
        await limits.check(ctx.s, ctx.person.id, limits.AGENDA, now)
        entry = AgendaItem(
            team_id=team.id,
            kind="action" if verb == "action" else "topic",
            text=_text(body),
            added_by=ctx.person.id,
            owner_id=owner.id if owner else None,
            created_at=now,
        )
        ctx.s.add(entry)
        await ctx.s.flush()
        when = meetings(team, now, None).this
        words: dict[str, object] = {"id": entry.id, "team": team.name, "text": entry.text[:200]}
        if when:
            words["when"] = _when(when, team.timezone)
        if entry.kind == "action":
            said = (
                _(
                    'Added action item A%(id)s to the next agenda of %(team)s (%(when)s): "%(text)s". It stays on the agenda until someone says `agenda done A%(id)s`.',
                    **words,
                )
                if when
                else _(
                    'Added action item A%(id)s to the next agenda of %(team)s: "%(text)s". It stays on the agenda until someone says `agenda done A%(id)s`.',
                    **words,
                )
            )
        else:
            said = (
                _(
                    'Added item A%(id)s to the next agenda of %(team)s (%(when)s): "%(text)s". It stays on the agenda until someone says `agenda done A%(id)s`.',
                    **words,
                )
                if when
                else _(
                    'Added item A%(id)s to the next agenda of %(team)s: "%(text)s". It stays on the agenda until someone says `agenda done A%(id)s`.',
                    **words,
                )
            )
        return FlowResult(replies=[Message(text=said)])
    if verb:
        raise InvalidInput(
            _(
                "Try 'agenda' to see the next agenda, 'agenda add ...' to add an item, or 'agenda done A3'."
            )
        )
    return FlowResult(replies=[await build_agenda(ctx.s, team, now)])


async def _done(ctx: Ctx, ref: str) -> FlowResult:
    try:
        entry_id = int(ref.strip().upper().lstrip("A#"))
    except ValueError as e:
        raise InvalidInput(_("Say which item, e.g. 'agenda done A3'.")) from e
    entry = await ctx.s.get(AgendaItem, entry_id)
    entry_team = await ctx.loop.dir.team(entry.team_id) if entry is not None else None
    if (
        entry is None
        or entry_team is None
        or not await ctx.loop.authority.may(ctx.person.id, Act.USE_AGENDA, entry_team)
    ):
        raise NotFound(_("There is no agenda item A%(id)s on your teams' agendas.", id=entry_id))
    if entry.done_at is not None:
        return FlowResult(replies=[Message(text=_("A%(id)s was already done.", id=entry.id))])
    entry.done_at = ctx.rt.clock.now()
    entry.done_by = ctx.person.id
    return FlowResult(
        replies=[Message(text=_('Done: A%(id)s "%(text)s".', id=entry.id, text=entry.text[:200]))]
    )


@command("digest", "resumen")
async def digest_command(ctx: Ctx, args: str) -> FlowResult:
    """This week's digest for the teams you lead or liaise for."""
    authority = ctx.loop.authority
    if args.strip():
        named = await ctx.loop.dir.find_team(args.strip())
        if named is None:
            raise NotFound(_("There is no team called '%(name)s'.", name=args.strip()))
        allowed = [named] if await authority.may(ctx.person.id, Act.LEAD, named) else []
    else:
        allowed = await authority.teams_where(ctx.person.id, Act.LEAD)
    if not allowed:
        raise NotAllowed(
            _(
                "The digest is for team leads and liaisons. Type 'agenda' to see your team's next agenda."
            )
        )
    now = ctx.rt.clock.now()
    return FlowResult(replies=[await build_digest(ctx.s, t, now) for t in allowed])
