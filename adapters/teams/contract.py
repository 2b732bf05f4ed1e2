"""The teams platform's contract object, registered by looplink/platforms.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.teams.settings import INFO, TeamsSettings, teams_settings_from_env
from bot.platforms import CliContext, Platform
from bot.runtime import Runtime
from bot.settings import Settings


class TeamsAdapter:
    info = INFO

    def settings_from_env(self, env: Mapping[str, str]) -> TeamsSettings | None:
        return teams_settings_from_env(env)

    def build(self, rt: Runtime, settings: Settings) -> Platform:
        from adapters.teams.platform import TeamsPlatform  # botbuilder loads only when enabled

        return TeamsPlatform(rt, settings.platform(INFO.name, TeamsSettings), settings.host)

    def add_commands(self, subparsers: Any, _ctx: CliContext) -> None:
        from adapters.teams.cli import register

        register(subparsers)


TEAMS = TeamsAdapter()
