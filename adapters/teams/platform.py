"""TeamsPlatform: `POST /api/messages` on Looplink's aiohttp app, plus the Teams outbox sender.

botbuilder's `CloudAdapter` authenticates each request and runs the turn. We call
`process_activity` ourselves rather than `CloudAdapter.process`, because `process` fails to
serialise an invoke response whose body is plain JSON (it hands a dict to the msrest
serializer and answers 500); we write the invoke response ourselves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import AuthenticateRequestResult
from msrest.serialization import Model

from adapters.teams.auth import AppTokens, bot_config, inbound_auth, unverified_claims
from adapters.teams.connector import BotConnector
from adapters.teams.people import TeamsPeople
from adapters.teams.sender import TeamsSender
from adapters.teams.service_urls import DEFAULT_SERVICE_URLS, BadPattern, ServiceUrls
from adapters.teams.settings import INFO, TeamsSettings
from adapters.teams.turn import TeamsTurns
from bot import payloads
from bot.netaddr import is_loopback
from bot.outbox import Sender
from bot.runtime import Runtime
from bot.settings import SettingsError
from bot.wire import BadBody, has_nul, utf8_text

log = logging.getLogger("looplink.teams")

ROUTE = "/api/messages"
CHANNEL = "msteams"
MAX_BODY = 256 * 1024  # Teams caps a message near 100 KB; activities are a few KB


class TeamsPlatform:
    info = INFO

    def __init__(self, rt: Runtime, settings: TeamsSettings, host: str) -> None:
        """`host`: where the server listens (unauthenticated Teams only on loopback)."""
        self.rt = rt
        self.settings = settings
        self.config = bot_config(settings, host)
        try:
            self.service_urls = ServiceUrls(settings.service_urls or DEFAULT_SERVICE_URLS)
        except BadPattern as e:
            raise SettingsError(f"LOOPLINK_TEAMS_SERVICE_URLS: {e}.") from e
        self.auth = inbound_auth(self.config)
        self.adapter = CloudAdapter(self.auth)
        self.connector = BotConnector(AppTokens(self.config), self.service_urls)
        self.turns = TeamsTurns(rt, self.connector)
        self._sender = TeamsSender(rt.db, self.connector, settings.app_id, settings.tenant_id)

    @property
    def authenticated(self) -> bool:
        return bool(self.config.APP_ID)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.messages)

    def sender(self) -> Sender:
        return self._sender

    def people(self) -> TeamsPeople:
        return TeamsPeople(self.rt.db, self.connector)

    async def start(self) -> None:
        if self.authenticated:
            log.info(
                "Teams: %s requires Bot Framework tokens for app %s (%s)",
                ROUTE,
                self.config.APP_ID,
                self.config.APP_TYPE,
            )
        else:
            log.warning(
                "Teams: MICROSOFT_APP_ID is not set, so %s accepts UNAUTHENTICATED requests "
                "(local testing only; set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to deploy)",
                ROUTE,
            )

    async def stop(self) -> None:
        await self.connector.close()

    async def messages(self, request: web.Request) -> web.StreamResponse:  # noqa: C901 - the documented order of checks
        """One activity, checked in this order, each step before any work the next one costs:

        413 a declared body over MAX_BODY (unread); 401 no valid Bot Framework token for this
        app (unauthenticated mode: a caller not on this machine), checked before the body is
        read; 415 not JSON; 413 a streamed body over MAX_BODY (cut off); 400 not JSON we
        read (invalid, nested over 64 levels), or not an activity (no type, from, conversation
        or serviceUrl); 401 a serviceUrl other than the one the token was issued for; 403 a
        serviceUrl that is not an allowed Bot Connector address; 400 fields of the wrong
        shape. Only then does the turn run.
        """
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _refuse(413, "request body too large")
        auth = await self._authenticate(request)
        if isinstance(auth, web.Response):
            return auth
        if request.content_type != "application/json":
            return _refuse(415, "expected application/json")
        raw = await _read(request, MAX_BODY)
        if raw is None:
            return _refuse(413, "request body too large")
        try:
            body = await payloads.loads_async(utf8_text(raw, request.charset))
        except BadBody as e:
            log.warning("Teams: refused a request: %s", e)
            return _refuse(400, "expected UTF-8 JSON")
        except payloads.BadPayload as e:
            log.warning("Teams: refused a request: %s", e)
            return _refuse(400, "invalid JSON")
        if has_nul(body):  # Teams sends none; PostgreSQL cannot store one
            log.warning("Teams: refused a request with a NUL character")
            return _refuse(400, "malformed Bot Framework activity")
        problem = _not_an_activity(body)
        if problem is not None:
            log.warning("Teams: refused a request that is not an activity: %s", problem)
            return _refuse(400, "expected a Bot Framework activity")
        service_url = body["serviceUrl"]
        if auth is not None and service_url != auth.claims_identity.claims.get("serviceurl"):
            log.warning("Teams: refused an activity whose serviceUrl is not its token's")
            return _refuse(401, "unauthorized")
        if not self.service_urls.allows(service_url):
            log.warning(
                "Teams: refused an activity from serviceUrl %r, which is not an allowed Bot "
                "Connector address (LOOPLINK_TEAMS_SERVICE_URLS: %s)",
                service_url[:200],
                self.service_urls.text,
            )
            return _refuse(403, "serviceUrl not allowed")
        try:
            if len(raw) > payloads.INLINE_BYTES:  # large: msrest takes a while, off the loop
                activity = await asyncio.to_thread(Activity().deserialize, body)
            else:
                activity = Activity().deserialize(body)
        except Exception:  # msrest raises DeserializationError for fields of the wrong shape
            return _refuse(400, "malformed Bot Framework activity")
        if auth is None:  # unauthenticated mode: botbuilder's anonymous identity
            auth = await self.auth.authenticate_request(activity, "")

        async def turn(context: TurnContext) -> None:
            reply = await self.turns.on_activity(body)
            if reply is not None:
                response = InvokeResponse(status=reply.status, body=reply.body)
                await context.send_activity(
                    Activity(type=ActivityTypes.invoke_response, value=response)
                )

        invoke = await self.adapter.process_activity(auth, activity, turn)
        if invoke is None:
            return web.Response(status=200)
        return web.json_response(_plain(invoke.body), status=int(invoke.status or 200))

    async def _authenticate(
        self, request: web.Request
    ) -> AuthenticateRequestResult | None | web.Response:
        """Who sent this, from the headers alone (the body is not read yet).

        With an app id: the Bot Framework token, verified (signature, issuer, audience, expiry,
        channel endorsement) for the serviceUrl it names; the body must then carry that same
        serviceUrl. Without one (local testing): the caller must be on this machine, and None
        is returned (there are no claims).
        """
        if not self.authenticated:
            if is_loopback(request.remote):
                return None
            log.warning("Teams: refused an unauthenticated request from %s", request.remote)
            return _refuse(401, "unauthorized")
        header = request.headers.get("Authorization", "")
        claims = unverified_claims(header)
        service_url = claims.get("serviceurl") if claims else None
        if not isinstance(service_url, str) or not service_url:
            log.warning("Teams: refused a request without a Bot Framework token")
            return _refuse(401, "unauthorized")
        claimed = Activity(channel_id=CHANNEL, service_url=service_url)
        try:
            return await self.auth.authenticate_request(claimed, header)
        except PermissionError as e:
            log.warning("Teams: rejected an unauthenticated request: %s", e)
        except Exception as e:  # a malformed or unverifiable token
            log.warning("Teams: rejected a request whose token failed validation: %r", e)
        return _refuse(401, "unauthorized")


def _refuse(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


async def _read(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (a chunked body is cut off)."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _not_an_activity(body: Any) -> str | None:
    """What makes this JSON something Looplink will not act on, if anything."""
    if not isinstance(body, dict):
        return "not an object"
    if not isinstance(body.get("type"), str) or not body["type"]:
        return "no type"
    if body.get("channelId") != CHANNEL:
        return f"channelId is not {CHANNEL}"
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url.strip():
        return "no serviceUrl"
    for key in ("from", "conversation"):
        part = body.get(key)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            return f"no {key}.id"
    return None


def _plain(body: Any) -> Any:
    """An invoke response body as JSON-ready data (botbuilder models or plain JSON)."""
    if isinstance(body, Model):
        return body.serialize()  # type: ignore[no-untyped-call]  # msrest, untyped
    return body if body is not None else {}
