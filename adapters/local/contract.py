"""The local platform's contract object, registered by looplink/platforms.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.local.settings import INFO, LocalSettings, local_settings_from_env
from bot.platforms import CliContext, Platform
from bot.runtime import Runtime
from bot.settings import Settings


class LocalAdapter:
    info = INFO

    def settings_from_env(self, env: Mapping[str, str]) -> LocalSettings | None:
        return local_settings_from_env(env)

    def build(self, rt: Runtime, settings: Settings) -> Platform:
        from adapters.local.platform import LocalPlatform

        return LocalPlatform(rt, settings)

    def add_commands(self, _subparsers: Any, _ctx: CliContext) -> None:
        return None  # `looplink chat` and `looplink demo` are the root's own commands


LOCAL = LocalAdapter()
