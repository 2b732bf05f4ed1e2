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


# What Looplink asks of a workspace: the manifest's bot scopes, and the install flow's.
SCOPES = (
    "chat:write",  # post cards, relays and DMs; update cards in place; ephemeral replies
    "chat:write.public",  # post in a team's public channel without being invited first
    "commands",  # slash commands and shortcuts
    "im:history",  # message.im: the DM conversation; after a crash, find a DM already sent
    "channels:history",  # after a crash, find a post already made (docs/delivery.md)
    "groups:history",  # the same in private team channels
    "im:write",  # conversations.open: DM a reporter
    "users:read",  # users.info: who wrote, on first contact
    "users:read.email",  # their email: links them to the org file (users.lookupByEmail too)
)


@dataclass(frozen=True)
class SlackSettings:
    """One of two modes. Single workspace: `bot_token` (SLACK_BOT_TOKEN). Many workspaces:
    `client_id` and `client_secret` (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET): each workspace
    installs Looplink through Slack's OAuth flow (GET /slack/install), and its tokens are kept
    encrypted in the database (LOOPLINK_SECRET_KEY). Both need `signing_secret`."""

    signing_secret: str
    bot_token: str | None = None
    app_token: str | None = None  # Socket Mode (single workspace only)
    api_url: str | None = None  # another Web API base URL (tests, proxies)
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None  # SLACK_REDIRECT_URI: <public URL>/slack/oauth_redirect
    authorize_url: str | None = None  # Slack's authorize page (tests point it elsewhere)

    @property
    def oauth(self) -> bool:
        return bool(self.client_id)


MAKE_A_KEY = (
    'python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


def slack_settings_from_env(env: Mapping[str, str]) -> SlackSettings | None:
    """SLACK_SIGNING_SECRET with either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET (OAuth installs, many workspaces; needs LOOPLINK_SECRET_KEY)."""
    token, secret = env_text(env, "SLACK_BOT_TOKEN"), env_text(env, "SLACK_SIGNING_SECRET")
    client_id, client_secret = (
        env_text(env, "SLACK_CLIENT_ID"),
        env_text(env, "SLACK_CLIENT_SECRET"),
    )
    if not (token or secret or client_id or client_secret):
        return None
    if token and (client_id or client_secret):
        raise SettingsError(
            "Slack is set up twice: SLACK_BOT_TOKEN serves one workspace, SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET let any number install Looplink. Keep one of them."
        )
    if bool(client_id) != bool(client_secret):
        missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
        raise SettingsError(
            f"Slack installs (OAuth) need both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET; "
            f"{missing} is not set."
        )
    if not secret:
        raise SettingsError(
            "Slack needs SLACK_SIGNING_SECRET (Basic Information -> App Credentials) with "
            + ("SLACK_CLIENT_ID." if client_id else "SLACK_BOT_TOKEN.")
        )
    if not (token or client_id):
        raise SettingsError(
            "Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (installs in many workspaces) with SLACK_SIGNING_SECRET."
        )
    app_token = env_text(env, "SLACK_APP_TOKEN")
    if client_id and app_token:
        raise SettingsError(
            "Socket Mode (SLACK_APP_TOKEN) serves one workspace: use it with SLACK_BOT_TOKEN, "
            "or serve installs over HTTPS without it."
        )
    if client_id and not env_text(env, "LOOPLINK_SECRET_KEY"):
        raise SettingsError(
            "Slack installs (SLACK_CLIENT_ID) keep every workspace's tokens in the database, "
            "encrypted with LOOPLINK_SECRET_KEY, which is not set. Make a key with "
            f"{MAKE_A_KEY} and keep it secret (docs/slack.md, 'Keys and rotation')."
        )
    return SlackSettings(
        signing_secret=secret,
        bot_token=token,
        app_token=app_token,
        api_url=env_text(env, "SLACK_API_URL"),
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=env_text(env, "SLACK_REDIRECT_URI"),
    )
