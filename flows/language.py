"""`language es` / `idioma es`: the language Looplink writes to a person in (issue 17)."""

from __future__ import annotations

from bot import dircache, i18n
from bot.errors import InvalidInput
from bot.i18n import _
from bot.messages import Message
from flows.events import FlowResult
from flows.registry import Ctx, command, fold

# Names people type for a language, in the languages Looplink speaks.
NAMES = {
    "english": "en",
    "ingles": "en",
    "spanish": "es",
    "espanol": "es",
    "castellano": "es",
}
RESET = {"auto", "default", "predeterminado", "automatico"}


def _choices() -> str:
    return ", ".join(f"*{lang}* ({i18n.language_name(lang, lang)})" for lang in i18n.languages())


def _pick(text: str) -> str | None:
    word = fold(text)
    return i18n.normalize(NAMES.get(word, word))


@command("language", "idioma", "lang", "lengua")
async def language_command(ctx: Ctx, args: str) -> FlowResult:
    """Choose the language Looplink writes to you in."""
    wanted = args.strip()
    if not wanted:
        current = await ctx.loop.dir.person_language(ctx.person, ctx.ev.locale)
        text = _(
            "I write to you in %(language)s. To change it, type *language* and one of: %(choices)s.",
            language=i18n.language_name(current),
            choices=_choices(),
        )
        return FlowResult(replies=[Message(text=text)])
    if fold(wanted) in RESET:
        ctx.person.chosen_language = None
        lang = await ctx.loop.dir.person_language(ctx.person, ctx.ev.locale)
    else:
        picked = _pick(wanted)
        if picked is None:
            raise InvalidInput(
                _(
                    "I don't write in '%(wanted)s' yet. Choose one of: %(choices)s.",
                    wanted=wanted[:40],
                    choices=_choices(),
                )
            )
        ctx.person.chosen_language = lang = picked
    await dircache.directory_changed(ctx.s)  # the person changed: every cache starts again
    with i18n.speaking(lang):
        text = _(
            "From now on I write to you in %(language)s. Team channels stay in their team's language.",
            language=i18n.language_name(lang),
        )
    return FlowResult(replies=[Message(text=text)])
