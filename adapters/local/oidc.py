"""Sign in with Slack or Microsoft: OpenID Connect, authorization code flow with PKCE.

The protocol is Authlib's (with joserfc, its JOSE library): the authorization URL
(`prepare_grant_uri`, PKCE S256), the token request (`prepare_token_request`), the ID token's
signature (`joserfc.jwt.decode` against the provider's JWKS) and its claims (`CodeIDToken`:
issuer, audience, expiry, issued-at, nonce, azp, at_hash). We only carry the bytes over aiohttp,
which Looplink already runs on (Authlib's async client would bring httpx for the same job).

A provider is a setting (`Provider`): its discovery URL, client id and secret, and which claims
name the account (user id, workspace or tenant, email and whether it is verified). Which org
person that is, is `bot.identity`'s answer, exactly as for a chat message: the user id inside
a declared workspace or tenant, then a verified email (see signin.py).

A sign-in in progress (`Pending`: state, nonce, PKCE verifier, where to go next) is kept in the
database for ten minutes (any process may receive the answer), bound to the browser that
started it by a cookie, and used once: a replayed `state` finds nothing, and a replayed ID
token carries another sign-in's nonce.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from authlib.oauth2.rfc6749.parameters import (
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import delete

from bot.clock import Clock
from bot.db.models import SignInState
from bot.db.session import Database
from bot.identity import Caller
from bot.platform_info import PlatformInfo

log = logging.getLogger("looplink.signin")

PENDING_FOR = timedelta(minutes=10)  # how long a sign-in may take at the provider
METADATA_FOR = 3600.0  # seconds discovery and keys are kept before being fetched again
LEEWAY = 60  # seconds of clock difference tolerated on exp/iat


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider people sign in with (a setting; see providers.py)."""

    name: str  # in URLs: /login/<name>
    label: str  # "Slack", "Microsoft"
    info: PlatformInfo  # whose identities the account is matched against
    discovery_url: str
    client_id: str
    client_secret: str = field(repr=False)
    # (org-file key, claim): the account's ids on the platform, preferred first
    user_claims: tuple[tuple[str, str], ...] = ()
    workspace_claim: str = ""  # the claim naming the workspace or tenant
    within_claims: tuple[str, ...] = ()  # larger ones it belongs to (Enterprise Grid)
    verified_email_claims: tuple[str, ...] = ("email_verified",)  # any one true: email vouched
    scopes: str = "openid email profile"


class SignInFailed(Exception):
    """The provider's answer cannot be trusted; `reason` is for the log, never the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Pending:
    provider: str
    browser: str  # SHA-256 of the cookie that binds this sign-in to one browser
    nonce: str
    verifier: str
    next: str
    expires_at: datetime


def browser_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8", "surrogatepass")).hexdigest()


class PendingSignIns:
    """Sign-ins waiting for the provider's answer, in the database (table `signin_states`, so
    any Looplink process may receive the answer): one use each, ten minutes at most. Only the
    state's SHA-256 is stored; each start deletes the ones that ran out."""

    def __init__(self, db: Database, clock: Clock, ttl: timedelta = PENDING_FOR) -> None:
        self.db = db
        self.clock = clock
        self.ttl = ttl

    async def start(self, provider: str, browser: str, nxt: str) -> tuple[str, Pending]:
        state = secrets.token_urlsafe(32)
        now = self.clock.now()
        pending = Pending(
            provider=provider,
            browser=browser,
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),
            next=nxt,
            expires_at=now + self.ttl,
        )
        async with self.db.transaction() as s:
            await s.execute(delete(SignInState).where(SignInState.expires_at < now))
            s.add(
                SignInState(
                    state_hash=browser_hash(state),
                    provider=provider,
                    browser=browser,
                    nonce=pending.nonce,
                    verifier=pending.verifier,
                    next=nxt,
                    expires_at=pending.expires_at,
                )
            )
        return state, pending

    async def take(self, state: str, provider: str, browser: str) -> Pending | None:
        """The sign-in `state` names, once (of two answers racing, one gets it); None when
        unknown, used, too old, for another provider or started in another browser."""
        if not state or len(state) > 128:
            return None
        key = browser_hash(state)
        async with self.db.transaction() as s:
            row = await s.get(SignInState, key)
            if row is None:
                return None
            pending = Pending(
                row.provider, row.browser, row.nonce, row.verifier, row.next, row.expires_at
            )
            gone = await s.execute(delete(SignInState).where(SignInState.state_hash == key))
            if not getattr(gone, "rowcount", 0):
                return None
        if pending.provider != provider or self.clock.now() >= pending.expires_at:
            return None
        if not secrets.compare_digest(pending.browser, browser):
            return None
        return pending


class OidcClient:
    """One provider's endpoints, keys and the checks on its answers."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
            if resp.status != 200:
                raise SignInFailed(f"{url} answered HTTP {resp.status}")
            data = await resp.json(content_type=None)
        if not isinstance(data, dict):
            raise SignInFailed(f"{url} did not answer with a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched > METADATA_FOR:
                meta = await self._get_json(self.provider.discovery_url)
                for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(meta.get(key), str):
                        raise SignInFailed(f"discovery document has no {key}")
                self._metadata, self._jwks, self._fetched = meta, None, time.monotonic()
            return self._metadata

    async def keys(self, force: bool = False) -> KeySet:
        meta = await self.metadata()
        if self._jwks is None or force:
            self._jwks = await self._get_json(str(meta["jwks_uri"]))
        try:
            return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as e:
            raise SignInFailed(f"unusable JWKS: {e}") from e

    async def authorize_url(self, redirect_uri: str, state: str, pending: Pending) -> str:
        meta = await self.metadata()
        url: str = prepare_grant_uri(
            str(meta["authorization_endpoint"]),
            client_id=self.provider.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=self.provider.scopes,
            state=state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256",
        )
        return url

    async def exchange(self, code: str, redirect_uri: str, pending: Pending) -> dict[str, Any]:
        """The token endpoint's answer for `code` (client secret in the body, PKCE verifier)."""
        meta = await self.metadata()
        body: str = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=pending.verifier,
            client_id=self.provider.client_id,
            client_secret=self.provider.client_secret,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(str(meta["token_endpoint"]), data=body, headers=headers) as resp,
        ):
            data = await resp.json(content_type=None)
            status = resp.status
        if status != 200 or not isinstance(data, dict) or not data.get("id_token"):
            error = data.get("error") if isinstance(data, dict) else None
            raise SignInFailed(f"token endpoint answered HTTP {status} ({error or 'no id_token'})")
        return data

    async def claims(self, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature and claims are checked; SignInFailed else."""
        meta = await self.metadata()
        algs = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algs if a != "none"])
        raw = str(token["id_token"])
        try:
            try:
                decoded = jwt.decode(raw, await self.keys(), registry=registry)
            except JoseError:  # a key rotated since we fetched them: once more, fresh
                decoded = jwt.decode(raw, await self.keys(force=True), registry=registry)
        except (JoseError, ValueError) as e:
            raise SignInFailed(f"ID token signature: {e}") from e
        issuer = str(meta["issuer"])
        if "{tenantid}" in issuer:  # Microsoft's multi-tenant discovery: the token's own tenant
            issuer = issuer.replace("{tenantid}", str(decoded.claims.get("tid", "")))
        options = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": self.provider.client_id},
            "nonce": {"essential": True, "value": nonce},
        }
        params = {"nonce": nonce, "client_id": self.provider.client_id}
        if token.get("access_token"):
            params["access_token"] = str(token["access_token"])
        checked = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            checked.validate(leeway=LEEWAY)
        except JoseError as e:
            raise SignInFailed(f"ID token claims: {e}") from e
        return dict(checked)


def caller_of(provider: Provider, claims: Mapping[str, Any]) -> Caller:
    """The account as `bot.identity` reads a chat user: its ids, workspace, verified email."""
    ids = tuple(
        (key, str(claims[claim])) for key, claim in provider.user_claims if claims.get(claim)
    )
    verified = any(claims.get(c) is True for c in provider.verified_email_claims)
    email = claims.get("email") if verified and isinstance(claims.get("email"), str) else None
    return Caller(
        platform=provider.info.name,
        ids=ids,
        scope=str(claims.get(provider.workspace_claim) or ""),
        within=tuple(str(claims[c]) for c in provider.within_claims if claims.get(c)),
        email=email,
    )
