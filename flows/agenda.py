"""The standing agenda and the weekly digest from chat.

    agenda                    your team's next agenda (in a team channel: that team's)
    agenda add TEXT           put an item on the next agenda; it carries forward until done
    agenda action [@who] TEXT record an action item (shown with its status next meeting)
    agenda done A3            mark agenda item A3 done
    agenda action @erin TEXT due 2026-12-04   an action item with an owner and a due date
    agenda edit A2 [@who] [TEXT] [due DATE]   change an item's owner, words or due date
    agenda remove A2          take an item off the agenda
    digest                    this week's digest for the teams you lead or liaise for

Slack's `/looplink agenda add ...` and Teams' `agenda add ...` both arrive here.
`agenda #riverside add ...` (or `agenda riverside`) picks one of your other teams.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot import limits
from bot.authority import Act
from bot.content.agenda import build_agenda
from bot.content.common import meetings
from bot.content.digest import build_digest
from bot.dates import shown, split_due
from bot.db.models import AgendaItem, Person, Team
from bot.domain import MAX_TEXT
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import _
from bot.i18n import when as _when
from bot.messages import Message
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, command, fold

VERBS = ("add", "action", "done", "edit", "remove")
SPANISH_VERBS = {
    "agregar": "add",
    "anadir": "add",
    "tarea": "action",
    "hecho": "done",
    "editar": "edit",
    "quitar": "remove",
}


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
    if verb in ("edit", "remove"):
        return await (_edit if verb == "edit" else _remove)(ctx, text)
    if verb in ("add", "action"):
        return await _add(ctx, team, verb, text)
    if verb:
        raise InvalidInput(
            _(
                "Try 'agenda' to see the next agenda, 'agenda add ...' to add an item, or 'agenda done A3'."
            )
        )
    return FlowResult(replies=[await build_agenda(ctx.s, team, now)])


async def _owner_and_rest(ctx: Ctx, text: str) -> tuple[Person | None, str]:
    if not text.startswith("@"):
        return None, text
    token, _sep, rest = text.partition(" ")
    owner = await ctx.loop.dir.find_person(token)
    if owner is None:
        raise InvalidInput(_("I could not find '%(who)s' to own that action item.", who=token))
    return owner, rest.strip()


def _due(ctx: Ctx, team: Team, text: str) -> tuple[str, date | None]:
    today = ctx.rt.clock.now().astimezone(ZoneInfo(team.timezone)).date()
    body, due, said = split_due(text, today)
    if said and due is None:
        raise InvalidInput(
            texts().render("agenda_words", which="bad_date", text=text.rpartition("due ")[2])
        )
    return body, due


async def _tell_owner(ctx: Ctx, team: Team, entry: AgendaItem) -> None:
    """The owner hears that an action item is theirs (not when they gave it to themselves)."""
    if entry.owner_id is None or entry.owner_id == ctx.person.id:
        return

    def told() -> Message:  # in the owner's language
        body = texts().render(
            "agenda_words",
            which="owner_told",
            entry=entry,
            team=team,
            by=ctx.person.name,
            due=shown(entry.due_on),
        )
        return Message(text=body)

    await ctx.loop._send("person", entry.owner_id, told)


async def _add(ctx: Ctx, team: Team, verb: str, text: str) -> FlowResult:
    now = ctx.rt.clock.now()
    owner, body = await _owner_and_rest(ctx, text) if verb == "action" else (None, text)
    due = None
    if verb == "action":
        body, due = _due(ctx, team, body)
    await limits.check(ctx.s, ctx.person.id, limits.AGENDA, now)
    entry = AgendaItem(
        team_id=team.id,
        kind="action" if verb == "action" else "topic",
        text=_text(body),
        added_by=ctx.person.id,
        owner_id=owner.id if owner else None,
        due_on=due,
        created_at=now,
    )
    ctx.s.add(entry)
    await ctx.s.flush()
    await _tell_owner(ctx, team, entry)
    when = meetings(team, now, None).this
    said = texts().render(
        "agenda_words",
        which="added",
        entry=entry,
        team=team,
        owner=owner.name if owner else "",
        at=_when(when, team.timezone) if when else "",
        due=shown(entry.due_on),
    )
    return FlowResult(replies=[Message(text=said)])


async def _entry(ctx: Ctx, ref: str, example: str) -> tuple[AgendaItem, Team, str]:
    """The agenda item `ref` names (A3) on one of the person's teams, and the rest of `ref`."""
    first, _sep, rest = ref.strip().partition(" ")
    try:
        entry_id = int(first.upper().lstrip("A#"))
    except ValueError as e:
        raise InvalidInput(_("Say which item, e.g. '%(example)s'.", example=example)) from e
    entry = await ctx.s.get(AgendaItem, entry_id)
    entry_team = await ctx.loop.dir.team(entry.team_id) if entry is not None else None
    if (
        entry is None
        or entry_team is None
        or not await ctx.loop.authority.may(ctx.person.id, Act.USE_AGENDA, entry_team)
    ):
        raise NotFound(_("There is no agenda item A%(id)s on your teams' agendas.", id=entry_id))
    return entry, entry_team, rest.strip()


async def _edit(ctx: Ctx, ref: str) -> FlowResult:
    entry, team, rest = await _entry(ctx, ref, "agenda edit A2 @erin due Friday")
    owner, rest = await _owner_and_rest(ctx, rest)
    body, due = _due(ctx, team, rest)
    if owner is None and due is None and not body:
        raise InvalidInput(texts().render("agenda_words", which="edit_how", entry=entry))
    if body:
        entry.text = _text(body)
    if due is not None:
        entry.due_on = due
        entry.reminded_at = None  # a new date: a new reminder
    if owner is not None and owner.id != entry.owner_id:
        entry.owner_id, entry.kind, entry.reminded_at = owner.id, "action", None
        await _tell_owner(ctx, team, entry)
    await ctx.s.flush()
    people = {p.id: p.name for p in [owner] if p is not None}
    if entry.owner_id and entry.owner_id not in people:
        known = await ctx.loop.dir.person(entry.owner_id)
        people[entry.owner_id] = known.name if known else entry.owner_id
    said = texts().render(
        "agenda_words",
        which="edited",
        entry=entry,
        team=team,
        owner=people.get(entry.owner_id or "", ""),
        due=shown(entry.due_on),
    )
    return FlowResult(replies=[Message(text=said)])


async def _remove(ctx: Ctx, ref: str) -> FlowResult:
    entry, team, _rest = await _entry(ctx, ref, "agenda remove A2")
    said = texts().render("agenda_words", which="removed", entry=entry, team=team)
    await ctx.s.delete(entry)
    await ctx.s.flush()
    return FlowResult(replies=[Message(text=said)])


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
