"""One registry for commands, button actions and form handlers.

Decorators only record a handler; `flows.router` reads the registry. A command handler's
docstring first line is its help text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Person, Team
from bot.engine import Loop
from bot.identity import Identities
from bot.runtime import Runtime
from flows.events import FlowResult, Inbound


@dataclass
class Ctx:
    rt: Runtime
    s: AsyncSession
    loop: Loop
    person: Person
    ev: Inbound
    places: tuple[str, ...] = ()  # the declared workspaces the event came from

    async def channel_team(self) -> Team | None:
        """The team whose channel the event came from (None: a direct message, or unknown)."""
        if not self.ev.channel:
            return None
        if self.rt.fanout.native(self.ev.platform):  # the platform's channel ids are team ids
            return await self.loop.dir.team(self.ev.channel)
        info = self.rt.fanout.info(self.ev.platform)
        if info is None:
            return None
        return await Identities(self.s).team_for_channel(info, self.ev.channel, self.places)


CommandHandler = Callable[[Ctx, str], Awaitable[FlowResult]]
ActionHandler = Callable[[Ctx, str, str], Awaitable[FlowResult]]
FormHandler = Callable[[Ctx, dict[str, str], dict[str, str]], Awaitable[FlowResult]]

COMMANDS: dict[str, CommandHandler] = {}
ACTIONS: dict[str, ActionHandler] = {}
FORMS: dict[str, FormHandler] = {}


def fold(word: str) -> str:
    """A typed word as commands are looked up: lower case, accents dropped ('Éxito' ->
    'exito'), so a command is understood however it is typed."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def command(*names: str) -> Callable[[CommandHandler], CommandHandler]:
    """Register a command under every name it is typed as, in every language (English first,
    then the translations: `@command("barrier", "barrera")`)."""

    def deco(fn: CommandHandler) -> CommandHandler:
        for n in names:
            COMMANDS[fold(n)] = fn
        return fn

    return deco


def action(prefix: str) -> Callable[[ActionHandler], ActionHandler]:
    """Handles button actions `prefix` and `prefix:suffix`; gets (ctx, suffix, value)."""

    def deco(fn: ActionHandler) -> ActionHandler:
        ACTIONS[prefix] = fn
        return fn

    return deco


def form(form_id: str) -> Callable[[FormHandler], FormHandler]:
    def deco(fn: FormHandler) -> FormHandler:
        FORMS[form_id] = fn
        return fn

    return deco
