"""The slack platform's contract object, registered by looplink/platforms.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.slack.settings import INFO, SlackSettings, slack_settings_from_env
from bot.platforms import CliContext, Platform
from bot.runtime import Runtime
from bot.settings import Settings


class SlackAdapter:
    info = INFO

    def settings_from_env(self, env: Mapping[str, str]) -> SlackSettings | None:
        return slack_settings_from_env(env)

    def build(self, rt: Runtime, settings: Settings) -> Platform:
        from adapters.slack.platform import SlackPlatform  # slack_bolt loads only when enabled

        return SlackPlatform(rt, settings.platform(INFO.name, SlackSettings), settings.secret_keys)

    def add_commands(self, subparsers: Any, _ctx: CliContext) -> None:
        from adapters.slack.cli import register

        register(subparsers)


SLACK = SlackAdapter()
