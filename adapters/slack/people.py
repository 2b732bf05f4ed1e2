"""Slack's directory for `looplink org sync` (bot/org_sync.py): the installed workspaces, and
their users by email (`users.lookupByEmail`, scope `users:read.email`), each asked with that
workspace's own token."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.oauth import NoToken, Tokens
from adapters.slack.settings import INFO
from bot.installations import Installations
from bot.org_sync import Ids, LookupFailed, Place

NOT_FOUND = "users_not_found"


class SlackPeople:
    info = INFO

    def __init__(
        self, client: AsyncWebClient, tokens: Tokens, installations: Installations | None
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.installations = installations  # None: one workspace (SLACK_BOT_TOKEN)

    async def places(self) -> list[Place]:
        if self.installations is not None:
            return [
                Place(f.scope, f.name, (f.within,) if f.within else ())
                for f in await self.installations.all()
                if f.data  # not uninstalled
            ]
        try:  # the one token's workspace
            r = await self.client.auth_test(token=await self.tokens.token(""))
        except SlackApiError as e:
            raise LookupFailed(f"Slack auth.test: {e.response.get('error')}") from e
        grid = str(r.get("enterprise_id") or "")
        return [Place(str(r["team_id"]), str(r.get("team") or ""), (grid,) if grid else ())]

    async def lookup(self, place: Place, emails: Sequence[str]) -> dict[str, Ids]:
        try:
            token = await self.tokens.token(place.value, place.within)
        except NoToken as e:
            raise LookupFailed(str(e)) from e
        out: dict[str, Ids] = {}
        for email in emails:
            try:
                r = await self.client.users_lookupByEmail(token=token, email=email)
            except SlackApiError as e:
                if e.response.get("error") == NOT_FOUND:
                    continue
                raise LookupFailed(f"users.lookupByEmail: {e.response.get('error')}") from e
            user = r.get("user") or {}
            if user.get("id") and not user.get("deleted") and not user.get("is_bot"):
                out[email.strip().lower()] = ((INFO.person_keys[0], str(user["id"])),)
        return out
