"""The meeting self-check and the protocol pulse, answered in chat: the button under an agenda
(or a pulse) opens a short form; `selfcheck 4 5 3 [note]` answers it typed. Per member, shown
only aggregated (bot/selfcheck.py)."""

from __future__ import annotations

from bot import selfcheck
from bot.authority import Act
from bot.content.agenda import meeting_round
from bot.db.models import Team
from bot.errors import InvalidInput, NotAllowed
from bot.messages import Form, FormField, Message, Option
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, action, command, form


def _words(which: str, **kw: object) -> str:
    return texts().render("selfcheck_words", which=which, **kw)


def selfcheck_form(kind: str, team: Team, round_: str) -> Form:
    scale = tuple(Option(str(n), _words("scale", n=n)) for n in range(1, 6))
    fields = tuple(
        FormField(q, _words(f"q_{q}"), "select", required=True, options=scale)
        for q in selfcheck.QUESTIONS[kind]
    )
    return Form(
        "selfcheck",
        _words(f"title_{kind}", team=team),
        (*fields, FormField("note", _words("note"), "textarea", hint=_words("anonymous"))),
        submit_label=_words("send"),
        context={"kind": kind, "team": team.id, "round": round_},
    )


async def _team(ctx: Ctx, team_id: str) -> Team:
    team = await ctx.loop.dir.team(team_id)
    if team is None or not await ctx.loop.authority.may(ctx.person.id, Act.USE_AGENDA, team):
        raise NotAllowed(_words("not_member", team=team))
    return team


@action("selfcheck")
async def selfcheck_button_pressed(ctx: Ctx, _which: str, value: str) -> FlowResult:
    kind, _, rest = value.partition(":")
    team_id, _, round_ = rest.partition(":")
    if kind not in selfcheck.QUESTIONS or not round_:
        raise InvalidInput(_words("stale"))
    team = await _team(ctx, team_id)
    return FlowResult(form=selfcheck_form(kind, team, round_))


@form("selfcheck")
async def selfcheck_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    kind = context.get("kind", "")
    if kind not in selfcheck.QUESTIONS or not context.get("round"):
        raise InvalidInput(_words("stale"))
    team = await _team(ctx, context.get("team", ""))
    scores: dict[str, int] = {}
    errors: dict[str, str] = {}
    for q in selfcheck.QUESTIONS[kind]:
        raw = str(values.get(q) or "").strip()
        if raw not in ("1", "2", "3", "4", "5"):
            errors[q] = _words("pick")
        else:
            scores[q] = int(raw)
    if errors:
        return FlowResult(errors=errors)
    note = str(values.get("note") or "").strip()
    now = ctx.rt.clock.now()
    await selfcheck.record(ctx.s, team.id, kind, context["round"], ctx.person.id, scores, note, now)
    return FlowResult(replies=[Message(text=_words("thanks", team=team))])


@command("selfcheck", "self-check")
async def selfcheck_command(ctx: Ctx, args: str) -> FlowResult:
    """The meeting self-check: selfcheck 4 5 3 [a note] (good use of time, tasks tracked,
    did what we said; 1-5), or just selfcheck for the form."""
    team = await ctx.channel_team() if ctx.ev.channel else None
    team = team or await ctx.loop.dir.home_team(ctx.person.id)
    if team is None:
        raise NotAllowed(_words("not_member", team=None))
    await _team(ctx, team.id)
    now = ctx.rt.clock.now()
    round_ = meeting_round(team, now)
    words = args.split()
    if not words:
        return FlowResult(form=selfcheck_form("meeting", team, round_))
    questions = selfcheck.QUESTIONS["meeting"]
    if len(words) < len(questions) or not all(w in "12345" and len(w) == 1 for w in words[:3]):
        raise InvalidInput(_words("typed_how"))
    scores = {q: int(w) for q, w in zip(questions, words, strict=False)}
    note = " ".join(words[len(questions) :])
    await selfcheck.record(ctx.s, team.id, "meeting", round_, ctx.person.id, scores, note, now)
    return FlowResult(replies=[Message(text=_words("thanks", team=team))])
