"""Settings for tests, with each platform's settings given by keyword as one flat list.

    make_settings(database_url=..., slack_bot_token=..., slack_signing_secret=...,
                  slack_app_token=..., slack_api_url=...,              # Slack
                  slack_client_id=..., slack_client_secret=..., slack_authorize_url=...,
                  secret_keys=(KEY,),                                  # Slack installs
                  teams_enabled=True, teams_app_id=..., teams_app_password=...,
                  teams_tenant_id=..., teams_app_type=..., teams_service_urls=...,  # Teams
                  local_enabled=True,                                  # the local playground
                  **core settings)

Each group becomes that platform's own settings object in `Settings.platforms` (Slack when
both its token and secret are given; Teams when `teams_enabled` or an app id is given).
"""

from __future__ import annotations

from typing import Any

from adapters.local.settings import INFO as LOCAL
from adapters.local.settings import LocalSettings
from adapters.slack.settings import INFO as SLACK
from adapters.slack.settings import SlackSettings
from adapters.teams.settings import INFO as TEAMS
from adapters.teams.settings import TeamsSettings
from bot.settings import Settings


def make_settings(**kw: Any) -> Settings:
    slack_keys: tuple[str, ...] = ("bot_token", "signing_secret", "app_token", "api_url")
    slack_keys += ("client_id",)
    slack_keys += ("client_secret", "redirect_uri", "authorize_url")
    slack = {k: kw.pop(f"slack_{k}", None) for k in slack_keys}
    teams = {
        k: kw.pop(f"teams_{k}", None)
        for k in ("app_id", "app_password", "tenant_id", "service_urls")
    }
    teams_type = kw.pop("teams_app_type", None)
    teams_on = kw.pop("teams_enabled", False) or teams["app_id"]
    local_on = kw.pop("local_enabled", False)
    platforms: dict[str, object] = dict(kw.pop("platforms", {}))
    if local_on:
        platforms[LOCAL.name] = LocalSettings()
    if (slack["bot_token"] or slack["client_id"]) and slack["signing_secret"]:
        platforms[SLACK.name] = SlackSettings(**slack)
    if teams_on:
        platforms[TEAMS.name] = TeamsSettings(**teams, app_type=teams_type or "MultiTenant")
    return Settings(platforms=platforms, **kw)
