"""A fake OpenID Connect provider: a real aiohttp server on port 0, standing in for Slack's or
Microsoft's sign-in.

It serves discovery, JWKS, authorize (redirects straight back with a code, as if the person
had consented), token (checks the client secret, the redirect URI and the PKCE verifier) and
userinfo, and issues RS256-signed ID tokens. Who signs in next is `fake.account` (claims);
`fake.tweak` overrides claims of the next ID tokens (a wrong audience, issuer, expiry...).

    async with FakeOidc(client_id="cid", client_secret="sec") as fake:
        fake.account = {"sub": "U1", "https://slack.com/user_id": "U1", ...}
        provider = slack_provider("cid", "sec", fake.discovery_url)
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class _Grant:
    account: dict[str, Any]
    nonce: str
    redirect_uri: str
    challenge: str


@dataclass
class FakeOidc:
    client_id: str = "looplink-test-client"
    client_secret: str = "looplink-test-secret"
    issuer_override: str | None = None  # e.g. Microsoft's "https://.../{tenantid}/v2.0"
    account: dict[str, Any] = field(default_factory=dict)
    tweak: dict[str, Any] = field(default_factory=dict)
    replay: str | None = None  # an ID token to answer with instead of a fresh one
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    issued: list[str] = field(default_factory=list)  # ID tokens, in order
    token_requests: int = 0
    base: str = ""
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def issuer(self) -> str:
        return self.issuer_override or self.base

    @property
    def discovery_url(self) -> str:
        return f"{self.base}/.well-known/openid-configuration"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_get("/userinfo", self._userinfo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _discovery(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base}/authorize",
                "token_endpoint": f"{self.base}/token",
                "userinfo_endpoint": f"{self.base}/userinfo",
                "jwks_uri": f"{self.base}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    async def _jwks(self, _request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return web.Response(status=400, text="unknown client or response type")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return web.Response(status=400, text="PKCE S256 required")
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(
            dict(self.account), q.get("nonce", ""), q["redirect_uri"], q["code_challenge"]
        )
        back = urlencode({"code": code, "state": q.get("state", "")})
        raise web.HTTPFound(f"{q['redirect_uri']}?{back}")

    def id_token(self, account: dict[str, Any], nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer.replace("{tenantid}", str(account.get("tid", ""))),
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **account,
            **self.tweak,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
        self.issued.append(token)
        return token

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self._grants.pop(str(form.get("code") or ""), None)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return web.json_response({"error": "invalid_grant"}, status=400)
        if create_s256_code_challenge(str(form.get("code_verifier") or "")) != grant.challenge:
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {
                "access_token": "at-" + secrets.token_urlsafe(8),
                "token_type": "Bearer",
                "id_token": self.replay or self.id_token(grant.account, grant.nonce),
            }
        )

    async def _userinfo(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer at-"):
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response(self.account)
