"""Slack's settings and identity: what it reads from the environment, its keys in the org file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.platform_info import PlatformInfo
from bot.settings import SettingsError, env_text

# A person's Slack user id is `slack:` in the org file; a team's channel `channels: {slack: C..}`;
# the organisation's own workspaces `workspaces: [{id: ..., slack: T..}]` (a workspace's team id,
# or an Enterprise Grid organisation's id, E..., for all of its workspaces).
INFO = PlatformInfo(
    name="slack",
    label="Slack",
    person_keys=("slack",),
    channel_key="slack",
    workspace_key="slack",
    workspace_label="Slack workspace",
    workspace_pattern=r"^[TE][A-Z0-9]{2,30}$",
    workspace_example="T0123ABCD (a workspace's team id) or E0123ABCD (an Enterprise Grid organisation)",
)


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str
    app_token: str | None = None  # Socket Mode
    api_url: str | None = None  # another Web API base URL (tests, proxies)


def slack_settings_from_env(env: Mapping[str, str]) -> SlackSettings | None:
    """SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET enable Slack; both or neither."""
    token, secret = env_text(env, "SLACK_BOT_TOKEN"), env_text(env, "SLACK_SIGNING_SECRET")
    if bool(token) != bool(secret):
        missing = "SLACK_SIGNING_SECRET" if token else "SLACK_BOT_TOKEN"
        raise SettingsError(
            f"Slack needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; {missing} is not set."
        )
    if not (token and secret):
        return None
    return SlackSettings(
        token, secret, env_text(env, "SLACK_APP_TOKEN"), env_text(env, "SLACK_API_URL")
    )
