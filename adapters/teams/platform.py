"""TeamsPlatform: `POST /api/messages` on Looplink's aiohttp app, plus the Teams outbox sender.

botbuilder's `CloudAdapter` authenticates each request and runs the turn. We call
`process_activity` ourselves rather than `CloudAdapter.process`, because `process` fails to
serialise an invoke response whose body is plain JSON (it hands a dict to the msrest
serializer and answers 500); we write the invoke response ourselves.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from msrest.serialization import Model

from adapters.teams.auth import AppTokens, bot_config, inbound_auth
from adapters.teams.connector import BotConnector
from adapters.teams.sender import TeamsSender
from adapters.teams.turn import TeamsTurns
from bot.outbox import Sender
from bot.runtime import Runtime
from bot.settings import Settings

log = logging.getLogger("looplink.teams")

ROUTE = "/api/messages"


class TeamsPlatform:
    name = "teams"

    def __init__(self, rt: Runtime, settings: Settings) -> None:
        self.rt = rt
        self.settings = settings
        self.config = bot_config(settings)
        self.auth = inbound_auth(self.config)
        self.adapter = CloudAdapter(self.auth)
        self.connector = BotConnector(AppTokens(self.config))
        self.turns = TeamsTurns(rt, self.connector)
        self._sender = TeamsSender(
            rt.db, self.connector, settings.teams_app_id, settings.teams_tenant_id
        )

    @property
    def authenticated(self) -> bool:
        return bool(self.config.APP_ID)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.messages)

    def sender(self) -> Sender:
        return self._sender

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

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "invalid JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return web.json_response({"error": "expected a Bot Framework activity"}, status=400)
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest raises DeserializationError for fields of the wrong shape
            return web.json_response({"error": "malformed Bot Framework activity"}, status=400)
        try:
            identity = await self.auth.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except PermissionError as e:
            log.warning("Teams: rejected an unauthenticated request: %s", e)
            return web.json_response({"error": "unauthorized"}, status=401)
        except Exception as e:  # a malformed or unverifiable token
            log.warning("Teams: rejected a request whose token failed validation: %r", e)
            return web.json_response({"error": "unauthorized"}, status=401)

        async def turn(context: TurnContext) -> None:
            reply = await self.turns.on_activity(body)
            if reply is not None:
                response = InvokeResponse(status=reply.status, body=reply.body)
                await context.send_activity(
                    Activity(type=ActivityTypes.invoke_response, value=response)
                )

        invoke = await self.adapter.process_activity(identity, activity, turn)
        if invoke is None:
            return web.Response(status=200)
        return web.json_response(_plain(invoke.body), status=int(invoke.status or 200))


def _plain(body: Any) -> Any:
    """An invoke response body as JSON-ready data (botbuilder models or plain JSON)."""
    if isinstance(body, Model):
        return body.serialize()
    return body if body is not None else {}
