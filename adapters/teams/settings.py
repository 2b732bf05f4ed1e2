"""Microsoft Teams' settings and identity: what it reads from the environment, its keys in the org file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.netaddr import is_loopback
from bot.platform_info import PlatformInfo
from bot.settings import SettingsError, env_flag, env_list, env_text


def unauthenticated_problem(host: str) -> str | None:
    """Teams without an app id takes requests nobody signed: only on this machine."""
    if is_loopback(host):
        return None
    return (
        f"Teams without MICROSOFT_APP_ID (LOOPLINK_TEAMS=1) accepts requests nobody signed, so "
        f"it only listens on this machine, and LOOPLINK_HOST is '{host}'. Set "
        "LOOPLINK_HOST=127.0.0.1 for local testing, or set MICROSOFT_APP_ID and "
        "MICROSOFT_APP_PASSWORD to serve Teams for real."
    )


# A person's Teams user id (`29:...`) is `teams:` in the org file, their Microsoft Entra object
# id `teams_aad:` (either finds them; the first is preferred for messages); a team's channel
# is `channels: {teams: '19:...'}`; the organisation's own Microsoft 365 tenants
# `workspaces: [{id: ..., teams: <tenant id>}]`.
INFO = PlatformInfo(
    name="teams",
    label="Microsoft Teams",
    person_keys=("teams", "teams_aad"),
    channel_key="teams",
    workspace_key="teams",
    workspace_label="Microsoft 365 tenant",
    workspace_pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    workspace_example="72f988bf-86f1-41af-91ab-2d7cd011db47 (the tenant id, from the Entra admin center)",
)


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str | None = None  # None: unauthenticated (local testing only)
    app_password: str | None = None
    tenant_id: str | None = None
    app_type: str = "MultiTenant"
    # allowed Bot Connector addresses (adapters/teams/service_urls.py); None: Microsoft's own
    service_urls: tuple[str, ...] | None = None


def teams_settings_from_env(env: Mapping[str, str]) -> TeamsSettings | None:
    """MICROSOFT_APP_ID (or LOOPLINK_TEAMS=1 for unauthenticated local testing) enables Teams."""
    app_id = env_text(env, "MICROSOFT_APP_ID")
    if not (app_id or env_flag(env, "LOOPLINK_TEAMS")):
        return None
    if not app_id:  # refused here, at start, before anything touches the database
        problem = unauthenticated_problem(env_text(env, "LOOPLINK_HOST") or "127.0.0.1")
        if problem:
            raise SettingsError(problem)
    return TeamsSettings(
        app_id,
        env_text(env, "MICROSOFT_APP_PASSWORD"),
        env_text(env, "MICROSOFT_APP_TENANT_ID"),
        env_text(env, "MICROSOFT_APP_TYPE") or "MultiTenant",
        env_list(env_text(env, "LOOPLINK_TEAMS_SERVICE_URLS")),
    )
