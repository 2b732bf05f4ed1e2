"""Slack in the Looplink server: one request URL, the outbox sender, optional Socket Mode."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import inbound
from adapters.slack.app import SlackBot
from adapters.slack.oauth import (
    DbInstallationStore,
    DbStateStore,
    InstallationAuthorize,
    InstalledTokens,
    SingleToken,
    Tokens,
)
from adapters.slack.people import SlackPeople
from adapters.slack.sender import SlackSender
from adapters.slack.settings import INFO, SCOPES, SlackSettings
from bot import payloads
from bot.installations import Installations
from bot.outbox import Sender
from bot.runtime import Runtime
from bot.secrets import SecretBox
from bot.settings import SettingsError
from bot.texts import texts
from bot.wire import BadBody, has_nul, utf8_text

log = logging.getLogger("looplink.slack")

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # OAuth mode: starts an install (to Slack's consent page)
REDIRECT_PATH = "/slack/oauth_redirect"  # OAuth mode: Slack sends the installer back here
API_TIMEOUT = 30  # seconds per Web API call, as slack_sdk's own default


def api_base(url: str | None) -> str | None:
    """SLACK_API_URL as slack_sdk wants it (with a trailing slash), or None for Slack's own."""
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


async def _check_json(body: str, content_type: str) -> None:
    """Refuse JSON Looplink would not read (see `bot.payloads`): the whole body of an Events
    API request, or the `payload` of an interactivity form. Slash commands carry no JSON."""
    if content_type == "application/json":
        await payloads.loads_async(body)
    elif "payload=" in body:
        for value in parse_qs(body).get("payload", []):
            await payloads.loads_async(value)


class SlackPlatform:
    info = INFO

    def __init__(
        self, rt: Runtime, settings: SlackSettings, secret_keys: tuple[str, ...] = ()
    ) -> None:
        self.rt = rt
        self.settings = settings
        base = api_base(settings.api_url)
        self.installations: Installations | None = None
        self.store: DbInstallationStore | None = None
        tokens: Tokens
        app_args: dict[str, Any]
        if settings.oauth:
            if not secret_keys:
                raise SettingsError(
                    "Slack installs (SLACK_CLIENT_ID) need LOOPLINK_SECRET_KEY to encrypt "
                    "each workspace's tokens."
                )
            self.installations = Installations(rt.db, SecretBox(secret_keys), rt.clock, INFO.name)
            installed = InstalledTokens(self.installations)
            self.store = DbInstallationStore(self.installations, installed)
            tokens = installed
            app_args = {
                "oauth_settings": self._oauth_settings(settings, self.store),
                "installation_store": self.store,
                "authorize": InstallationAuthorize(installed),
                "user_facing_authorize_error_message": texts().render("not_installed"),
            }
        else:
            assert settings.bot_token
            tokens = SingleToken(settings.bot_token)
            app_args = {"token": settings.bot_token}
        self.tokens = tokens
        self.bot = SlackBot(rt, settings.signing_secret, tokens, base, self.store, **app_args)
        client_args: dict[str, Any] = {"retry_handlers": []}
        if base:
            client_args["base_url"] = base
        # No in-process retries for delivery: the outbox retries, durably.
        self._sender = SlackSender(AsyncWebClient(**client_args), tokens)
        self._people_client = AsyncWebClient(**client_args)
        self._socket: Any = None
        self._verifier = SignatureVerifier(settings.signing_secret)
        self._http: aiohttp.ClientSession | None = None

    @staticmethod
    def _oauth_settings(settings: SlackSettings, store: DbInstallationStore) -> Any:
        from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions
        from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
        from slack_sdk.oauth import AuthorizeUrlGenerator

        assert settings.client_id and settings.client_secret
        oauth = AsyncOAuthSettings(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scopes=list(SCOPES),
            user_scopes=[],
            redirect_uri=settings.redirect_uri,
            install_path=INSTALL_PATH,
            install_page_rendering_enabled=False,  # straight to Slack's consent page
            redirect_uri_path=REDIRECT_PATH,
            callback_options=AsyncCallbackOptions(success=_installed, failure=_not_installed),
            installation_store=store,
            installation_store_bot_only=True,
            state_store=DbStateStore(store.installations),
        )
        if settings.authorize_url:  # tests: the fake's consent page
            oauth.authorize_url_generator = AuthorizeUrlGenerator(
                client_id=settings.client_id,
                scopes=list(SCOPES),
                user_scopes=[],
                redirect_uri=settings.redirect_uri,
                authorization_url=settings.authorize_url,
            )
        return oauth

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, self.events)
        if self.settings.oauth:
            app.router.add_get(INSTALL_PATH, self.install)
            app.router.add_get(REDIRECT_PATH, self.oauth_redirect)

    async def install(self, request: web.Request) -> web.StreamResponse:
        """Start an install: remember a `state` (and set it as a cookie), go to Slack."""
        flow = self.bot.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(_browser_request(request)))

    async def oauth_redirect(self, request: web.Request) -> web.StreamResponse:
        """Finish an install: check the `state`, exchange the code (`oauth.v2.access`), keep
        the installation (encrypted), say how it went."""
        flow = self.bot.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(_browser_request(request)))

    async def events(self, request: web.Request) -> web.Response:
        """Events, interactivity, slash commands and options all arrive here, signed.

        In this order: a body over the size limit is refused unread (413, aiohttp's
        client_max_size); a body that is not UTF-8 (or declares another charset) gets 400; a
        bad or stale signature gets 401; JSON that is invalid or nested more than 64 levels
        (the body, or the `payload` field of a form) gets 400 before Bolt parses it; a body
        Bolt cannot represent or route, or with a NUL character anywhere (Slack sends none;
        PostgreSQL cannot store one), gets 400; then Bolt runs the listener. Bolt reads every
        payload field it might pass to a listener before matching one, so shapes Slack never sends (`"user": false`,
        an empty `actions` list) raise inside Bolt, sometimes outside any error handler. When a
        request fails, its shape decides the answer: malformed -> 400 (and a warning in the
        log); well-formed -> 500, which Slack retries for events. No answer says more.
        """
        raw = await request.read()
        try:
            body = utf8_text(raw, request.charset)
        except BadBody as e:
            log.warning("refused a Slack request: %s", e)
            return web.Response(status=400, text="Malformed Slack request.")
        if not self._signed(body, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            await _check_json(body, request.content_type)
        except payloads.BadPayload as e:
            log.warning("refused a Slack request: %s", e)
            return web.Response(status=400, text="Malformed Slack request.")
        try:
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as e:
            log.warning("refused a Slack request Bolt could not read: %s", type(e).__name__)
            return web.Response(status=400, text="Malformed Slack request.")
        if has_nul(bolt_request.body) or has_nul(bolt_request.query):
            log.warning("refused a Slack request with a NUL character")
            return web.Response(status=400, text="Malformed Slack request.")
        try:
            bolt_response: BoltResponse | None = await self.bot.app.async_dispatch(bolt_request)
        except Exception as e:
            log.error("Slack request failed outside any handler: %s", type(e).__name__)
            bolt_response = None
        if bolt_response is None or bolt_response.status >= 500:
            problem = inbound.malformed(bolt_request.body)
            if problem is not None:
                log.warning("refused a malformed Slack request: %s", problem)
                return web.Response(status=400, text="Malformed Slack request.")
            if bolt_response is None:
                return web.Response(status=500)
        return await to_aiohttp_response(bolt_response)

    def _signed(self, body: str, headers: Mapping[str, str]) -> bool:
        """Slack's signature over the body, made in the last five minutes (replays refused)."""
        try:
            return self._verifier.is_valid(
                body=body,
                timestamp=headers.get("X-Slack-Request-Timestamp"),
                signature=headers.get("X-Slack-Signature"),
            )
        except ValueError:  # a timestamp that is not a number
            return False

    def sender(self) -> Sender:
        return self._sender

    def people(self) -> SlackPeople:
        return SlackPeople(self._people_client, self.tokens, self.installations)

    async def start(self) -> None:
        # One connection pool for every Web API call (modals, outbox posts, response_urls):
        # without it slack_sdk opens a new session, connection and TLS handshake per call.
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT))
        self.bot.client.session = self._http
        self._sender.client.session = self._http
        self.bot.http = self._http
        if self.bot.app.oauth_flow is not None:
            self.bot.app.oauth_flow.client.session = self._http
        token = self.settings.app_token
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


def _browser_request(request: web.Request) -> AsyncBoltRequest:
    """An installer's browser visiting the install or redirect URL (a GET: no body)."""
    return AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers={k: v for k, v in request.headers.items()},
    )


def _page(text: str, status: int) -> Any:
    """A small HTML page saying `text` (from a template), for the browser of an installer."""
    import html

    from slack_bolt.response import BoltResponse

    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Looplink</title>'
        f"</head><body><main><p>{html.escape(text)}</p></main></body></html>"
    )
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html"})


async def _installed(args: Any) -> Any:
    inst = args.installation
    where = inst.enterprise_name if inst.is_enterprise_install else inst.team_name
    return _page(texts().render("installed", where=where or inst.team_id or ""), 200)


async def _not_installed(args: Any) -> Any:
    log.warning("Slack: an install did not complete: %s", args.reason)
    return _page(texts().render("install_failed", reason=args.reason), args.suggested_status_code)
