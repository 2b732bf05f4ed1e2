"""The sign-in providers a server offers, from the environment (docs/web.md says how to set
them up at Slack and in Microsoft Entra ID).

    LOOPLINK_SIGNIN_SLACK_CLIENT_ID / _CLIENT_SECRET [/ _DISCOVERY_URL]
    LOOPLINK_SIGNIN_MICROSOFT_CLIENT_ID / _CLIENT_SECRET [/ _DISCOVERY_URL]

A provider is offered when its client id and secret are both set; one without the other is a
SettingsError. The discovery URL defaults to the provider's own (tests point it at a fake).
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.local.oidc import Provider
from adapters.slack.settings import INFO as SLACK
from adapters.teams.settings import INFO as TEAMS
from bot.settings import SettingsError, env_text

SLACK_DISCOVERY = "https://slack.com/.well-known/openid-configuration"
MICROSOFT_DISCOVERY = (
    "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
)


def slack_provider(client_id: str, client_secret: str, discovery_url: str) -> Provider:
    """Sign in with Slack: the Slack user id within its workspace (team id)."""
    return Provider(
        name="slack",
        label="Slack",
        info=SLACK,
        discovery_url=discovery_url,
        client_id=client_id,
        client_secret=client_secret,
        user_claims=(("slack", "https://slack.com/user_id"),),
        workspace_claim="https://slack.com/team_id",
        within_claims=("https://slack.com/enterprise_id",),
    )


def microsoft_provider(client_id: str, client_secret: str, discovery_url: str) -> Provider:
    """Sign in with Microsoft (Entra ID): the account's object id within its tenant. Entra's
    `email` is trusted only with `email_verified` or `xms_edov` (domain owner verified)."""
    return Provider(
        name="microsoft",
        label="Microsoft",
        info=TEAMS,
        discovery_url=discovery_url,
        client_id=client_id,
        client_secret=client_secret,
        user_claims=(("teams_aad", "oid"),),
        workspace_claim="tid",
        verified_email_claims=("email_verified", "xms_edov"),
    )


def _one(env: Mapping[str, str], key: str, default_discovery: str) -> tuple[str, str, str] | None:
    prefix = f"LOOPLINK_SIGNIN_{key}_"
    cid, secret = env_text(env, prefix + "CLIENT_ID"), env_text(env, prefix + "CLIENT_SECRET")
    if not cid and not secret:
        return None
    if not cid or not secret:
        missing = prefix + ("CLIENT_SECRET" if cid else "CLIENT_ID")
        raise SettingsError(
            f"{missing} is not set: sign-in needs both the client id and the client secret "
            "(see docs/web.md)."
        )
    discovery = env_text(env, prefix + "DISCOVERY_URL") or default_discovery
    if not discovery.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise SettingsError(f"{prefix}DISCOVERY_URL must be an https:// URL, not '{discovery}'.")
    return cid, secret, discovery


def providers_from_env(env: Mapping[str, str]) -> tuple[Provider, ...]:
    out: list[Provider] = []
    if slack := _one(env, "SLACK", SLACK_DISCOVERY):
        out.append(slack_provider(*slack))
    if microsoft := _one(env, "MICROSOFT", MICROSOFT_DISCOVERY):
        out.append(microsoft_provider(*microsoft))
    return tuple(out)
