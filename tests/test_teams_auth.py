"""With an app id, /api/messages accepts only Bot Framework tokens for that app: signed by the
channel's keys (endorsed for msteams), from its issuer, for our app id, for this serviceUrl.

The keys come from a small OpenID metadata server in a thread (botbuilder fetches them with a
blocking `requests.get`, so they cannot be served from the test's own event loop).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from adapters.teams.auth import inbound_auth
from adapters.teams.platform import TeamsPlatform
from bot.clock import FixedClock
from bot.db.models import ConversationRef
from tests.fakes.teams_client import QUINN
from tests.teams_world import World, teams_world

APP_ID = "0f4d1c1e-5b1c-4e8e-9a55-1b2c3d4e5f60"
ISSUER = "https://api.botframework.test"
KID = "looplink-test-key"


class KeyServer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        keys = {"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": ["msteams"]}]}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body: dict[str, Any] = keys
                if self.path.endswith("openidconfiguration"):
                    body = {"issuer": ISSUER, "jwks_uri": outer.url + "/keys"}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def token(self, service_url: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": APP_ID,
            "serviceurl": service_url,
            "nbf": now - 10,
            "exp": now + 3600,
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": KID})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def keys() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.close()


class FixedTokens:
    async def token(self) -> str | None:
        return "outbound-token-for-the-connector"


def trust(w: World, keys: KeyServer) -> None:
    """Point the Teams platform's token validation at the test key server."""
    (platform,) = [p for p in w.server.platforms if isinstance(p, TeamsPlatform)]
    platform.config = replace(
        platform.config,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=ISSUER,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=keys.url + "/.well-known/openidconfiguration",
    )
    platform.auth = inbound_auth(platform.config)
    platform.connector.tokens = FixedTokens()


async def test_only_valid_tokens_for_this_app_are_accepted(
    db_url: str, clock: FixedClock, keys: KeyServer
) -> None:
    async with teams_world(
        db_url, clock, teams_app_id=APP_ID, teams_app_password="not-a-real-secret"
    ) as w:
        trust(w, keys)
        service = w.connector.url
        now = int(time.time())
        refused = {
            "no token": None,
            "not a JWT": "Bearer not.a.token",
            "another app": f"Bearer {keys.token(service, aud='11111111-2222-3333-4444-555555555555')}",
            "expired": f"Bearer {keys.token(service, exp=now - 3600, nbf=now - 7200)}",
            "another serviceUrl": f"Bearer {keys.token('https://evil.example/')}",
            "another issuer": f"Bearer {keys.token(service, iss='https://evil.example')}",
        }
        for why, header in refused.items():
            w.teams.headers = {"Authorization": header} if header else {}
            r = await w.teams.say(QUINN, "mine")
            assert r.status == 401, why
        assert w.connector.calls == []

        w.teams.headers = {"Authorization": f"Bearer {keys.token(service)}"}
        r = await w.teams.say(QUINN, "mine")
        assert r.status == 200
        (call,) = w.connector.calls
        assert "You have not reported anything yet" in call.text()
        # what the bot sends carries its own token for the connector
        assert call.headers["Authorization"] == "Bearer outbound-token-for-the-connector"


async def test_a_valid_token_for_an_address_that_is_not_allowed_is_refused(
    db_url: str, clock: FixedClock, keys: KeyServer
) -> None:
    """Authenticated is not enough: the serviceUrl must also be an allowed Bot Connector
    address, or Looplink would later post there with its own token."""
    async with teams_world(
        db_url, clock, teams_app_id=APP_ID, teams_app_password="not-a-real-secret"
    ) as w:
        trust(w, keys)
        w.teams.service_url = "https://evil.example/"
        w.teams.headers = {"Authorization": f"Bearer {keys.token('https://evil.example/')}"}
        r = await w.teams.say(QUINN, "mine")
        assert r.status == 403
        assert w.connector.calls == []
        async with w.server.rt.db.transaction() as s:
            assert (await s.scalars(select(ConversationRef))).first() is None
