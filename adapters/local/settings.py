"""The local platform: no platform ids, messages stored for the playground; its settings.

Enabled by LOOPLINK_LOCAL=1 (and always by `looplink demo`). People and teams are addressed
by their Looplink ids (`native_ids`), so it reaches everyone and needs no org-file keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.platform_info import PlatformInfo
from bot.settings import env_flag

INFO = PlatformInfo(name="local", label="the local playground", native_ids=True)


@dataclass(frozen=True)
class LocalSettings:
    """Nothing to configure: the playground signs in with LOOPLINK_ADMIN_TOKEN (core)."""


def local_settings_from_env(env: Mapping[str, str]) -> LocalSettings | None:
    """LOOPLINK_LOCAL=1 enables the local playground in `looplink serve`."""
    return LocalSettings() if env_flag(env, "LOOPLINK_LOCAL") else None
