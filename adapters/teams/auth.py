"""Bot Framework authentication, from botbuilder: inbound JWT validation and outbound tokens.

With MICROSOFT_APP_ID set, every request to /api/messages must carry a valid Bot Framework
token for that app id (checked by `ConfigurationBotFrameworkAuthentication`), and calls to the
connector carry a token from Microsoft Entra ID. Without an app id both are off: local testing
only, so the server then refuses to start on anything but a loopback address.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import jwt
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.auth import AuthenticationConstants

from adapters.teams.settings import TeamsSettings, unauthenticated_problem
from bot.settings import SettingsError

APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant"}
APP_TYPES["userassignedmsi"] = "UserAssignedMSI"


@dataclass(frozen=True)
class BotConfig:
    """The attribute names botbuilder's configuration classes read.

    The last two point token validation at another cloud's issuer and signing keys (a
    sovereign or private cloud, or a test's own key server); None means Microsoft's public
    cloud.
    """

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TENANTID: str | None
    APP_TYPE: str
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None = None
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None = None


def bot_config(settings: TeamsSettings, host: str) -> BotConfig:
    """The Teams settings, checked now so a mistake is a clear message at start-up; `host` is
    where the server listens (LOOPLINK_HOST)."""
    app_type = APP_TYPES.get((settings.app_type or "MultiTenant").lower())
    if app_type is None:
        raise SettingsError(
            f"MICROSOFT_APP_TYPE is '{settings.app_type}'; use MultiTenant, SingleTenant "
            "or UserAssignedMSI."
        )
    config = BotConfig(settings.app_id, settings.app_password, settings.tenant_id, app_type)
    if not config.APP_ID:
        problem = unauthenticated_problem(host)
        if problem:
            raise SettingsError(problem)
        return config
    if app_type != "UserAssignedMSI" and not config.APP_PASSWORD:
        raise SettingsError("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not.")
    if app_type != "MultiTenant" and not config.APP_TENANTID:
        raise SettingsError(f"MICROSOFT_APP_TYPE {app_type} needs MICROSOFT_APP_TENANT_ID.")
    return config


def inbound_auth(config: BotConfig) -> ConfigurationBotFrameworkAuthentication:
    return ConfigurationBotFrameworkAuthentication(config)


def unverified_claims(authorization: str) -> dict[str, Any] | None:
    """The claims of a `Bearer <JWT>` header, NOT verified (only to know which serviceUrl the
    token is for before verifying it); None when the header is not a readable JWT."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 16384:
        return None
    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


class AppTokens:
    """Bearer tokens for calls to the Bot Connector, for the configured app (cached by MSAL)."""

    def __init__(self, config: BotConfig) -> None:
        self.config = config
        self._factory = ConfigurationServiceClientCredentialFactory(config)
        self._credentials: Any = None

    async def token(self) -> str | None:
        if not self.config.APP_ID:
            return None
        if self._credentials is None:
            self._credentials = await self._factory.create_credentials(
                self.config.APP_ID,
                AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
                AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL,
                True,
            )
        token = await asyncio.to_thread(self._credentials.get_access_token)
        return str(token) if token else None
