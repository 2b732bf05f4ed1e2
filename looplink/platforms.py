"""The registered platforms: one line each. A new platform is a folder in adapters/ exporting
a `PlatformAdapter` (bot/platforms.py) and one line here (see ARCHITECTURE.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from adapters.local import LOCAL
from adapters.local.providers import providers_from_env
from adapters.slack import SLACK
from adapters.teams import TEAMS
from bot.orgfile import OrgSpec, load_org
from bot.platform_info import PlatformInfo
from bot.platforms import PlatformAdapter
from bot.settings import EnvReader, Settings

PLATFORMS: tuple[PlatformAdapter, ...] = (LOCAL, SLACK, TEAMS)


def infos(platforms: Sequence[PlatformAdapter] = PLATFORMS) -> tuple[PlatformInfo, ...]:
    return tuple(p.info for p in platforms)


def readers(platforms: Sequence[PlatformAdapter] = PLATFORMS) -> dict[str, EnvReader]:
    return {p.info.name: p.settings_from_env for p in platforms}


def settings_from_env(
    env: Mapping[str, str] | None = None, platforms: Sequence[PlatformAdapter] = PLATFORMS
) -> Settings:
    """The process's settings, each registered platform reading its own, and the web pages'
    sign-in providers."""
    e = os.environ if env is None else env
    return replace(Settings.from_env(e, readers(platforms)), sign_in=providers_from_env(e))


def load_org_file(path: str | Path, platforms: Sequence[PlatformAdapter] = PLATFORMS) -> OrgSpec:
    """The org file, with the registered platforms' keys for people's and teams' ids."""
    return load_org(path, infos(platforms))
