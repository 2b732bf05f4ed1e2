"""The platform contract: everything a chat platform supplies, and all the core knows of one.

A platform (Slack, Teams, the local playground, a test's fake) is a folder in `adapters/` that
exports one `PlatformAdapter` object; the composition root (`looplink/platforms.py`) lists it
in one line. The core never names a platform: it sees `PlatformInfo` (how people and teams are
addressed there), a `Sender` (bot/outbox.py) and the neutral events the platform hands to
`flows.router.handle`. See ARCHITECTURE.md, "Adding a platform".
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from bot.org_sync import PeopleSource
from bot.outbox import Sender
from bot.platform_info import PlatformInfo
from bot.runtime import Runtime
from bot.settings import Settings


class Platform(Protocol):
    """A platform running inside the server (built by its adapter from the settings)."""

    info: PlatformInfo

    def add_routes(self, app: web.Application) -> None:
        """Mount this platform's HTTP endpoints on the shared aiohttp app."""
        ...

    def sender(self) -> Sender:
        """The outbox sender that delivers neutral messages on this platform."""
        ...

    def people(self) -> PeopleSource | None:
        """Its directory for `looplink org sync` (find users by email where Looplink is
        installed), or None when the platform has none."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class CliContext:
    """What the composition root hands to a command-line extension."""

    settings: Callable[[argparse.Namespace], Settings]  # the environment's, with --database
    platforms: tuple[PlatformInfo, ...]  # every registered platform

    def enabled(self, settings: Settings) -> tuple[PlatformInfo, ...]:
        """The registered platforms that `settings` enables, in registration order."""
        return tuple(p for p in self.platforms if p.name in settings.platforms)


class PlatformAdapter(Protocol):
    """The whole contract of a platform; one object per adapter folder (e.g. `SLACK`).

    - `info`: names, org-file keys, addressing (above);
    - `settings_from_env`: its own settings (a frozen object of its own type), or None when
      the environment does not enable it; a wrong or half-given setting raises SettingsError;
    - `build`: the running `Platform` (routes, sender, start/stop), importing its SDK only here;
    - `add_commands`: its `looplink <name> ...` subcommands, if any.

    Inbound users are resolved to people by the core identity lookup
    (`bot.identity.Identities.identify`, which the router calls for each event with the
    event's workspace, ids and email) and channels to teams by `Identities.team_for_channel`.
    """

    info: PlatformInfo

    def settings_from_env(self, env: Mapping[str, str]) -> object | None: ...

    def build(self, rt: Runtime, settings: Settings) -> Platform: ...

    def add_commands(self, subparsers: Any, ctx: CliContext) -> None: ...
