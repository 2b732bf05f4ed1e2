"""Many Slack workspaces: installs through Slack's OAuth v2 flow, tokens per workspace.

Bolt runs the flow (`GET /slack/install` -> Slack's consent page -> `GET /slack/oauth_redirect`
-> `oauth.v2.access`); Looplink supplies where installations and the flow's `state` are kept:
its own database (`bot/installations.py`), tokens encrypted with LOOPLINK_SECRET_KEY. An
Enterprise Grid organisation-wide install covers every workspace of the organisation.

`Tokens` answers "which token for this workspace?" for every call Looplink makes: the
authorisation of each inbound request (`InstallationAuthorize`, no `auth.test` per request),
the outbox (`SlackSender`), lookups and `looplink org sync`. In single-workspace mode
(SLACK_BOT_TOKEN) it is that one token everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from logging import Logger
from typing import Any, Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.installations import Installations

log = logging.getLogger("looplink.slack")


class NoToken(Exception):
    """No usable token for a workspace; the text says why (never installed, uninstalled)."""


class Tokens(Protocol):
    """Which bot token reaches a workspace (or Enterprise Grid organisation)."""

    async def token(self, scope: str, within: Sequence[str] = ()) -> str:
        """The bot token for `scope` (or the organisation in `within` it belongs to); raises
        NoToken with the reason when there is none."""
        ...


class SingleToken:
    """SLACK_BOT_TOKEN: one workspace, one token."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, scope: str, within: Sequence[str] = ()) -> str:
        del scope, within  # the one token reaches the one workspace it was made for
        return self._token


class InstalledTokens:
    """OAuth mode: each workspace's own token, from its installation (or its organisation's)."""

    def __init__(self, installations: Installations) -> None:
        self.installations = installations

    async def installation(self, scope: str, within: Sequence[str] = ()) -> Installation | None:
        """The live installation covering a workspace: its own, else its organisation's."""
        for place in (scope, *within):
            found = await self.installations.find(place)
            if found is not None and found.data:
                return Installation(**found.data)
        return None

    async def token(self, scope: str, within: Sequence[str] = ()) -> str:
        installation = await self.installation(scope, within)
        if installation is not None and installation.bot_token:
            return installation.bot_token
        for place in (scope, *within):
            found = await self.installations.find(place)
            if found is not None and found.revoked_at is not None:
                raise NoToken(
                    f"Looplink was removed from Slack workspace {place} ({found.revoked_reason}, "
                    f"{found.revoked_at:%Y-%m-%d %H:%M} UTC): nothing is delivered there until "
                    "it is installed again (/slack/install)"
                )
        raise NoToken(
            f"Looplink is not installed in Slack workspace {scope or '(unknown)'}: install it "
            "there (/slack/install)"
        )


def _scope(installation: Installation | Bot) -> tuple[str, str]:
    """Where an installation applies: (the workspace, or the organisation for an org-wide
    install; the organisation a workspace belongs to)."""
    if installation.is_enterprise_install:
        return installation.enterprise_id or "", ""
    return installation.team_id or "", installation.enterprise_id or ""


class DbInstallationStore(AsyncInstallationStore):
    """Bolt's installation store, in Looplink's database (bot-token installs only)."""

    def __init__(self, installations: Installations, tokens: InstalledTokens) -> None:
        self.installations = installations
        self.tokens = tokens

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        scope, within = _scope(installation)
        name = installation.team_name or installation.enterprise_name or ""
        await self.installations.save(scope, within, name, dict(installation.__dict__))
        log.info(
            "Slack: Looplink installed in %s %s (%s)",
            "Enterprise Grid organisation" if installation.is_enterprise_install else "workspace",
            scope,
            name,
        )

    async def async_save_bot(self, bot: Bot) -> None:
        """Bolt saves installations (and finds bots through them): nothing to do."""
        del bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        del user_id  # bot installations only: the same for everyone in the workspace
        if is_enterprise_install:
            return await self.tokens.installation(enterprise_id or "")
        within = (enterprise_id,) if enterprise_id else ()
        return await self.tokens.installation(team_id or "", within)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return installation.to_bot() if installation is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.revoke(enterprise_id, team_id, "tokens_revoked")

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # a user token's installation: Looplink keeps none
            await self.revoke(enterprise_id, team_id, "app_uninstalled")

    async def revoke(self, enterprise_id: str | None, team_id: str | None, reason: str) -> bool:
        """Record that the workspace removed Looplink (its own installation, else the
        organisation-wide one it was covered by); True if there was one to revoke."""
        for place in (team_id, enterprise_id):
            if place and await self.installations.revoke(place, reason):
                log.warning(
                    "Slack: %s for %s: its tokens are deleted and deliveries to it stop (they "
                    "wait in the outbox, parked, with the reason); other workspaces are not "
                    "affected. Install Looplink there again to resume.",
                    reason,
                    place,
                )
                return True
        return False


class DbStateStore(AsyncOAuthStateStore):
    """The install flow's `state` values, in Looplink's database (one use, ten minutes)."""

    def __init__(self, installations: Installations) -> None:
        self.installations = installations

    @property
    def logger(self) -> Logger:
        return log

    async def async_issue(self, *_args: Any, **_kwargs: Any) -> str:
        return await self.installations.issue_state()

    async def async_consume(self, state: str) -> bool:
        return await self.installations.consume_state(state)


class InstallationAuthorize(AsyncAuthorize):
    """Authorise each inbound request against its workspace's installation (its own, or its
    Enterprise Grid organisation's), from the database alone; None (refused) when there is
    none, or it was uninstalled."""

    def __init__(self, tokens: InstalledTokens) -> None:
        self.tokens = tokens

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: str
        | None,  # actor_enterprise_id, ...: for user tokens, which Looplink has none of
    ) -> AuthorizeResult | None:
        del context  # Bolt's request context: the answer depends on the installation alone
        within = (enterprise_id,) if enterprise_id else ()
        installation = await self.tokens.installation(team_id or "", within)
        if installation is None or not installation.bot_token:
            log.warning(
                "Slack: refused a request from workspace %s (organisation %s): Looplink is not "
                "installed there",
                team_id or "-",
                enterprise_id or "-",
            )
            return None
        return AuthorizeResult(
            enterprise_id=installation.enterprise_id,
            team_id=team_id or installation.team_id,
            bot_user_id=installation.bot_user_id,
            bot_id=installation.bot_id,
            bot_token=installation.bot_token,
            bot_scopes=installation.bot_scopes,
            user_id=user_id,
        )
