"""Slack in the Looplink server: one request URL, the outbox sender, optional Socket Mode."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackBot
from adapters.slack.sender import SlackSender
from bot.outbox import Sender
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError

log = logging.getLogger("looplink.slack")

EVENTS_PATH = "/slack/events"
API_TIMEOUT = 30  # seconds per Web API call, as slack_sdk's own default


def api_base(url: str | None) -> str | None:
    """SLACK_API_URL as slack_sdk wants it (with a trailing slash), or None for Slack's own."""
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


class SlackPlatform:
    name = "slack"

    def __init__(self, rt: Runtime, settings: Settings) -> None:
        if not (settings.slack_bot_token and settings.slack_signing_secret):
            raise SettingsError("Slack needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.")
        self.rt = rt
        self.settings = settings
        base = api_base(settings.slack_api_url)
        self.bot = SlackBot(rt, settings.slack_bot_token, settings.slack_signing_secret, base)
        client_args: dict[str, Any] = {"token": settings.slack_bot_token, "retry_handlers": []}
        if base:
            client_args["base_url"] = base
        # No in-process retries for delivery: the outbox retries, durably.
        self._sender = SlackSender(AsyncWebClient(**client_args))
        self._socket: Any = None
        self._http: aiohttp.ClientSession | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, self.events)

    async def events(self, request: web.Request) -> web.Response:
        """Events, interactivity, slash commands and options all arrive here (signed)."""
        bolt_response = await self.bot.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    def sender(self) -> Sender:
        return self._sender

    async def start(self) -> None:
        # One connection pool for every Web API call (modals, outbox posts, response_urls):
        # without it slack_sdk opens a new session, connection and TLS handshake per call.
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT))
        self.bot.client.session = self._http
        self._sender.client.session = self._http
        self.bot.http = self._http
        token = self.settings.slack_app_token
        if not token:
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._socket = AsyncSocketModeHandler(self.bot.app, token, web_client=self.bot.client)
        await self._socket.connect_async()
        log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.bot.close()
        if self._http is not None:
            self.bot.client.session = None
            self._sender.client.session = None
            self.bot.http = None
            await self._http.close()
            self._http = None

    async def idle(self) -> None:
        """Wait until every answer shown after an acknowledgement is done (tests, shutdown)."""
        await self.bot.idle()
