"""The routes of "Sign in with Slack" and "Sign in with Microsoft" (see oidc.py, docs/web.md).

    GET /login/<provider>?next=/somewhere   -> the provider's authorization page
    GET /login/<provider>/callback          <- the provider sends the browser back here

The callback refuses, with a polite page and without signing anyone in: a `state` it did not
issue to this browser (unknown, used already, expired), an ID token that fails its checks
(signature, issuer, audience, expiry, nonce), an account from a workspace or tenant the org
file does not declare, and an account that is nobody in the organisation. Each refusal counts
as a failed attempt for the client (`bot.throttle`, shared with the admin token): after five in
fifteen minutes the client waits, whatever it sends.
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from adapters.local.oidc import (
    OidcClient,
    PendingSignIns,
    Provider,
    SignInFailed,
    browser_hash,
    caller_of,
)
from adapters.local.page_language import in_page_language
from adapters.local.signin import (
    PERSON,
    SIGN_INS,
    Locked,
    client_of,
    gate_of,
    is_https,
    safe_next,
    start_session,
    too_many,
)
from adapters.local.web import WEB, html
from bot.db.models import Setting
from bot.identity import Identities

log = logging.getLogger("looplink.signin")

BINDING = "looplink_signin"  # the cookie that ties a sign-in in progress to one browser
OIDC = web.AppKey("looplink_oidc", dict[str, OidcClient])
PENDING = web.AppKey("looplink_oidc_pending", PendingSignIns)


def _provider(request: web.Request) -> OidcClient:
    client = request.app[OIDC].get(request.match_info["provider"])
    if client is None:
        raise web.HTTPNotFound()
    return client


def redirect_uri(request: web.Request, provider: Provider) -> str:
    scheme = "https" if is_https(request) else "http"
    return f"{scheme}://{request.host}/login/{provider.name}/callback"


def refused(request: web.Request, reason: str, status: int, provider: Provider) -> web.Response:
    """A polite page saying why this sign-in did not happen and what to do (signin_refused.html
    has the words for each reason)."""
    org = request.app[WEB].settings
    return html(
        "signin_refused.html",
        status=status,
        reason=reason,
        provider=provider.label,
        platform=provider.info.name,  # the page words "a Slack workspace" / "a tenant" itself
        demo=org.demo,
    )


async def start(request: web.Request) -> web.StreamResponse:
    oidc = _provider(request)
    gate = gate_of(request)
    left = gate.throttle.locked(client_of(request))
    if left is not None:
        return too_many(request, Locked(left).seconds, page=True, what=SIGN_INS)
    binding = request.cookies.get(BINDING) or secrets.token_urlsafe(32)
    nxt = safe_next(request.query.get("next"))
    state, pending = await request.app[PENDING].start(
        oidc.provider.name, browser_hash(binding), nxt
    )
    try:
        url = await oidc.authorize_url(redirect_uri(request, oidc.provider), state, pending)
    except (SignInFailed, OSError, TimeoutError) as e:
        log.warning("sign-in with %s: discovery failed: %s", oidc.provider.name, e)
        return refused(request, "unreachable", 502, oidc.provider)
    resp = web.HTTPSeeOther(url)
    resp.set_cookie(
        BINDING,
        binding,
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back, not cross-site posts
        secure=is_https(request),
        path="/login/",
        max_age=600,
    )
    raise resp


async def callback(request: web.Request) -> web.StreamResponse:
    oidc = _provider(request)
    provider = oidc.provider
    gate = gate_of(request)
    client = client_of(request)
    left = gate.throttle.locked(client)
    if left is not None:
        return too_many(request, Locked(left).seconds, page=True, what=SIGN_INS)
    pending = await request.app[PENDING].take(
        request.query.get("state", ""),
        provider.name,
        browser_hash(request.cookies.get(BINDING, "")),
    )
    if pending is None:
        gate.throttle.failed(client)
        return refused(request, "state", 400, provider)
    if request.query.get("error") or not request.query.get("code"):
        return refused(request, "cancelled", 400, provider)  # the person said no: not a guess
    try:
        token = await oidc.exchange(request.query["code"], redirect_uri(request, provider), pending)
        claims = await oidc.claims(token, pending.nonce)
    except (SignInFailed, OSError, TimeoutError) as e:
        log.warning("sign-in with %s refused: %s", provider.name, getattr(e, "reason", e))
        gate.throttle.failed(client)
        return refused(request, "token", 403, provider)
    rt = request.app[WEB].rt
    caller = caller_of(provider, claims)
    async with rt.db.transaction() as s:
        ids = Identities(s)
        places = await ids.places(provider.info, caller.places)
        known = await ids.identify(provider.info, caller) if places else None
        org = await s.get(Setting, "organization")
    if not places:
        log.info("sign-in with %s from undeclared %r refused", provider.name, caller.places)
        gate.throttle.failed(client)
        return refused(request, "workspace", 403, provider)
    if known is None:
        log.info("sign-in with %s: account maps to nobody in %s", provider.name, org)
        gate.throttle.failed(client)
        return refused(request, "nobody", 403, provider)
    gate.throttle.succeeded(client)
    log.info("%s signed in with %s", known.person.id, provider.name)
    principal = f"{PERSON}{known.person.id}"
    return await start_session(request, principal, f"oidc:{provider.name}", pending.next)


def mount_oidc(app: web.Application) -> None:
    """The sign-in routes of each configured provider (after mount_login)."""
    if OIDC in app:
        return
    settings = app[WEB].settings
    app[OIDC] = {p.name: OidcClient(p) for p in settings.sign_in if isinstance(p, Provider)}
    app[PENDING] = PendingSignIns(app[WEB].rt.db, app[WEB].rt.clock)
    if app[OIDC]:
        app.router.add_get("/login/{provider}", in_page_language(start))
        app.router.add_get("/login/{provider}/callback", in_page_language(callback))
