"""TeamsSender: the outbox's deliveries as Adaptive Cards, posted proactively, updated in place.

Where a delivery goes:
- A stored conversation reference (captured on install and on every message) is used as is.
- A team channel with no stored reference yet: Looplink builds one from the channel id in the
  org file and the serviceUrl (and tenant) of the newest Teams reference it has, i.e. from any
  activity Teams has sent. Before Teams has sent anything there is no serviceUrl to post to:
  the delivery fails *retryably* with an error saying so, and goes out once the app is used.
- A person with no stored reference: a personal conversation is created
  (POST /v3/conversations) with their Teams id, in the tenant that id lives in, and the bot id
  of the newest reference; the new reference is returned to be stored.

The tenant travels with every delivery: it is the tenant of the person's identity or of the
team's channel (`Address.scope`), set on every conversation reference Looplink builds and on
every activity it posts (`channelData.tenant.id`). A channel's serviceUrl is taken from the
newest reference in the same tenant where there is one.

A message with an update key that was posted before is replaced in place (PUT); if Teams says
the old message is gone (404), it is posted again. Errors, in the outbox's three classes:
429 and 5xx (and network errors) are retried soon, respecting Retry-After; 401, 403, 404 and
the other refusals Teams lifts once someone acts (the app password, the app not installed in a
team, a wrong channel id in the org file) are retried later and tell the admin what to fix;
400 and 413 (Teams rejects the card itself) are permanent.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from adapters.teams.cards import marked, message_activity
from adapters.teams.connector import AddressNotAllowed, BotConnector, ConnectorError
from adapters.teams.settings import INFO
from bot.db.models import ConversationRef
from bot.db.session import Database
from bot.outbox import Address, Delivery, SendResult

log = logging.getLogger("looplink.teams")

PLATFORM = INFO.name
Json = dict[str, Any]


class NoRoute(Exception):
    """Looplink cannot reach this destination until an admin does `fix` (retried later)."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


INSTALL = (
    "install the Looplink app in Teams (in the team, or message it once) so that Teams tells "
    "Looplink where to post"
)


def failure(e: ConnectorError, address: Address) -> SendResult:
    """Map a connector refusal to what the outbox should do next (a person is never named)."""
    if e.retryable:
        return SendResult(ok=False, retry_after=e.retry_after, error=str(e))
    if isinstance(e, AddressNotAllowed):  # a stored reference to a server we never call
        return SendResult(
            ok=False,
            permanent=True,
            error=str(e),
            fix="if that address is a real Bot Connector, add it to "
            "LOOPLINK_TEAMS_SERVICE_URLS, restart and `looplink outbox retry`; else discard it",
        )
    if e.status in (400, 413):
        return SendResult(
            ok=False,
            permanent=True,
            error=str(e),
            fix="Teams refused the message itself (a Looplink bug worth reporting); "
            "`looplink outbox discard` it with a reason, or retry after upgrading",
        )
    where = (
        f"the channel of team {address.dest_id}"
        if address.dest_kind == "team"
        else "a person's chat (`looplink outbox list` shows whose)"
    )
    if e.status == 401:
        fix = (
            "the Bot Framework refused Looplink's credentials: check MICROSOFT_APP_ID, "
            "MICROSOFT_APP_PASSWORD (expired secret?) and MICROSOFT_APP_TENANT_ID, then restart"
        )
    elif e.status == 403:
        fix = f"Looplink is not allowed to post in {where}: {INSTALL}"
    elif e.status == 404:
        fix = (
            f"Teams does not know {where}: correct `channels: teams:` (or the person's "
            f"`teams:` id) in the org file and run `looplink org apply`, or {INSTALL}"
        )
    else:
        fix = f"Teams refused with {e.status}: fix the cause, then `looplink outbox retry`"
    return SendResult(ok=False, error=str(e), fix=fix, platform_wide=e.status == 401)


class TeamsSender:
    platform = PLATFORM

    def __init__(
        self,
        db: Database,
        connector: BotConnector,
        app_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.db = db
        self.connector = connector
        self.app_id = app_id
        self.tenant_id = tenant_id

    async def deliver(self, delivery: Delivery) -> SendResult:
        act = message_activity(delivery.message, key=delivery.update_key)
        tenant = delivery.address.scope or _tenant(delivery.address.ref) or self.tenant_id
        if tenant:
            act = {**act, "channelData": {**act.get("channelData", {}), "tenant": {"id": tenant}}}
        try:
            prev = delivery.previous
            if prev and prev.get("activity_id") and prev.get("conversation_id"):
                service_url = str(
                    prev.get("service_url") or (delivery.address.ref or {}).get("serviceUrl", "")
                )
                try:
                    await self.connector.update(
                        service_url,
                        str(prev["conversation_id"]),
                        str(prev["activity_id"]),
                        act,
                    )
                    return SendResult(ok=True, ref=dict(prev))
                except ConnectorError as e:
                    if e.status != 404:
                        raise
                    log.info("Teams message %s is gone; posting it again", prev["activity_id"])
            ref, is_new = await self._reference(delivery.address)
            service_url = str(ref["serviceUrl"])
            conversation_id = str(ref["conversation"]["id"])
            marked_act = marked(act, delivery.outbox_id)
            activity_id = await self.connector.post(service_url, conversation_id, marked_act)
            return SendResult(
                ok=True,
                ref={
                    "service_url": service_url,
                    "conversation_id": conversation_id,
                    "activity_id": activity_id,
                },
                conversation=ref if is_new else None,
            )
        except ConnectorError as e:
            return failure(e, delivery.address)
        except NoRoute as e:
            return SendResult(ok=False, error=str(e), fix=e.fix)

    async def _reference(self, address: Address) -> tuple[Json, bool]:
        """The stored reference, or one built from the org file and what Teams told us."""
        ref = address.ref
        stored_id = str(((ref or {}).get("conversation") or {}).get("id") or "")
        if ref and ref.get("serviceUrl") and stored_id:
            moved = address.dest_kind == "team" and stored_id != address.platform_id
            if not moved:
                return dict(ref), False
        if not address.platform_id:
            raise NoRoute(
                "no Teams id in the org file for this destination",
                f"give team {address.dest_id} `channels: teams:` in the org file"
                if address.dest_kind == "team"
                else "give the person a `teams:` id in the org file "
                "(`looplink outbox list` shows whose)",
            )
        # the org file names a channel we have no reference for (new, or moved there)
        known = ref if ref and ref.get("serviceUrl") else await self._newest_reference(address)
        if known is None or not known.get("serviceUrl"):
            raise NoRoute(
                f"no Teams conversation reference for this {address.dest_kind} yet, "
                "and no serviceUrl known",
                INSTALL,
            )
        service_url = str(known["serviceUrl"])
        tenant = address.scope or self.tenant_id or _tenant(known)
        if address.dest_kind == "team":
            conversation: Json = {"id": address.platform_id, "conversationType": "channel"}
            if tenant:
                conversation["tenantId"] = tenant
            return {
                "channelId": "msteams",
                "serviceUrl": service_url,
                "conversation": conversation,
                "bot": dict(known.get("bot") or {}),
            }, True
        bot_id = str((known.get("bot") or {}).get("id") or "")
        if not bot_id and self.app_id:
            bot_id = f"28:{self.app_id}"
        if not bot_id or not tenant:
            raise NoRoute(
                "cannot open a personal chat yet: bot id or tenant unknown",
                f"set MICROSOFT_APP_TENANT_ID, or {INSTALL}",
            )
        conversation_id = await self.connector.create_personal(
            service_url, bot_id, address.platform_id, tenant
        )
        return {
            "channelId": "msteams",
            "serviceUrl": service_url,
            "conversation": {
                "id": conversation_id,
                "conversationType": "personal",
                "tenantId": tenant,
            },
            "bot": {"id": bot_id},
            "user": {"id": address.platform_id},
        }, True

    async def _newest_reference(self, address: Address) -> Json | None:
        """The newest reference Teams gave, in the destination's tenant if there is one (its
        serviceUrl and bot id are where to reach that tenant), else any."""
        async with self.db.transaction() as s:
            newest = (
                select(ConversationRef)
                .where(ConversationRef.platform == PLATFORM)
                .order_by(ConversationRef.updated_at.desc())
                .limit(1)
            )
            row = None
            if address.scope:
                row = (
                    await s.scalars(newest.where(ConversationRef.scope == address.scope))
                ).first()
            if row is None:
                row = (await s.scalars(newest)).first()
            return dict(row.ref) if row is not None else None


def _tenant(ref: Json | None) -> str:
    """The tenant a conversation reference names, if any."""
    return str(((ref or {}).get("conversation") or {}).get("tenantId") or "")
