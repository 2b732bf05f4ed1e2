"""A fake Slack, over real HTTP, for scenario tests.

`FakeSlack` is a real aiohttp server on an ephemeral port that answers the Web API methods
Looplink calls the way Slack does (`ok`, `ts`, `channel`, `view` ids), records every call,
and can refuse calls on demand (429 with Retry-After, 5xx, Slack errors) or hold them until
released. Point `slack_sdk` at it with `base_url=fake.api_url` (SLACK_API_URL).
It can also enforce Slack's posting limit (`post_interval`: one `chat.postMessage` per channel
per second, 429 with `Retry-After` beyond it) and play an outage (`outage`: every call to a
method refused until `restore`).
Response URLs (`response_url` in payloads) point at it too and are recorded as calls named
"response_url".

`SlackUser` plays Slack's side of the request URL: it sends *signed* requests shaped like
Slack's real payloads (url-encoded slash commands, `payload=` JSON for interactions, JSON event
envelopes) to the Looplink server under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.client import Client

TEAM_ID = "T0RIVER"
BOT_USER = "U0LOOPBOT"
BOT_ID = "B0LOOPBOT"
APP_ID = "A0LOOPLINK"


@dataclass
class Workspace:
    """One Slack workspace the fake serves: its own bot token, people and channels."""

    team_id: str
    name: str
    token: str
    enterprise_id: str | None = None
    bot_user: str = BOT_USER
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {email, name}
    revoked: bool = False

    def user(self, user_id: str, email: str, name: str = "", locale: str = "en-US") -> Workspace:
        self.users[user_id] = {"email": email, "name": name or user_id, "locale": locale}
        return self


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None = None
    status: int = 0  # the HTTP status the fake answered (0 while it is still being answered)
    peer: Any = None  # the caller's (host, port): which connection the call came over
    result: dict[str, Any] = field(default_factory=dict)  # the JSON answer, if any

    team: str | None = None  # the workspace whose token the call carried (None: no such token)

    @property
    def ok(self) -> bool:
        """Slack accepted the call (HTTP 200 and "ok": true)."""
        return self.status == 200 and bool(self.result.get("ok"))

    def text(self) -> str:
        """Everything the call carries, as one string (for "appears nowhere" assertions)."""
        return json.dumps(self.args, sort_keys=True)


@dataclass
class Refusal:
    status: int = 429
    error: str = "ratelimited"
    retry_after: int | None = None


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token"
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _refusals: dict[str, list[Refusal]] = field(default_factory=dict)
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    _arrived: dict[str, asyncio.Event] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    dms: dict[str, str] = field(default_factory=dict)  # user id -> D channel
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    modals: list[str] = field(default_factory=list)  # ids of views opened or pushed, in order
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> published App Home
    missing_channels: set[str] = field(default_factory=set)
    app_token: str = "xapp-test-token"
    socket_acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id -> ack
    _socket: web.WebSocketResponse | None = None
    _socket_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _acked: asyncio.Condition = field(default_factory=asyncio.Condition)
    post_interval: float | None = None  # seconds between accepted posts to one channel
    rate_limited: int = 0  # posts refused by post_interval
    _last_post: dict[str, float] = field(default_factory=dict)
    _outages: dict[str, Refusal] = field(default_factory=dict)
    workspaces: dict[str, Workspace] = field(default_factory=dict)  # by token
    codes: dict[str, Workspace] = field(default_factory=dict)  # OAuth codes not yet exchanged
    client_id: str = "1111.2222"
    client_secret: str = "fake-client-secret"

    def __post_init__(self) -> None:
        self.workspaces[self.token] = Workspace(TEAM_ID, "Riverside", self.token)

    # ---- workspaces ---------------------------------------------------------------------

    def add_workspace(self, team_id: str, name: str, enterprise_id: str | None = None) -> Workspace:
        """Another workspace (its token is issued when it installs Looplink: `grant`)."""
        ws = Workspace(team_id, name, f"xoxb-{team_id.lower()}-{next(self._seq)}", enterprise_id)
        ws.bot_user = f"U0BOT{team_id[-3:]}"
        return ws

    def grant(self, ws: Workspace) -> str:
        """A workspace admin approves the install on Slack's consent page: the code Slack
        sends back to the redirect URL (exchanged by oauth.v2.access)."""
        code = f"code-{ws.team_id}-{next(self._seq)}"
        self.codes[code] = ws
        return code

    def revoke(self, ws: Workspace) -> None:
        """The workspace removes Looplink: its token stops working."""
        ws.revoked = True

    def team_of(self, token: str | None) -> str | None:
        ws = self.workspaces.get(token or "")
        return ws.team_id if ws is not None else None

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info, users.lookupByEmail
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket_mode)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    # ---- control ------------------------------------------------------------------------

    def refuse(
        self,
        method: str,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: int | None = None,
    ) -> None:
        """Refuse the next call to `method` (queued: call again to refuse more)."""
        self._refusals.setdefault(method, []).append(Refusal(status, error, retry_after))

    def outage(
        self,
        method: str,
        status: int = 500,
        error: str = "internal_error",
        retry_after: int | None = None,
    ) -> None:
        """Refuse every call to `method` (with this status) until `restore(method)`."""
        self._outages[method] = Refusal(status, error, retry_after)

    def restore(self, method: str) -> None:
        self._outages.pop(method, None)

    def hold(self, method: str) -> asyncio.Event:
        """Hold calls to `method` until the returned event is set."""
        gate = self._holds[method] = asyncio.Event()
        self._arrived[method] = asyncio.Event()
        return gate

    async def arrived(self, method: str) -> None:
        await self._arrived[method].wait()

    def to(self, method: str, **match: Any) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and all(c.args.get(k) == v for k, v in match.items())
        ]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls if c.method != "auth.test"]

    def clear(self) -> None:
        self.calls.clear()

    # ---- the API ------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        """Arguments as Slack reads them: query string, form body or JSON body."""
        args: dict[str, Any] = {}
        form: Any = request.query
        if request.method == "GET":
            pass
        elif request.content_type == "application/json":
            args.update(await request.json())
        else:
            form = {**request.query, **(await request.post())}
        for k, v in form.items():
            value = str(v)
            if k in ("blocks", "view") and value.startswith(("[", "{")):
                args[k] = json.loads(value)
            else:
                args[k] = value
        return args

    def _ts(self) -> str:
        n = next(self._seq)
        return f"{int(time.time())}.{n:06d}"  # as Slack: the time of the post, unique

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        args = await self._args(request)
        if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            args.update(client_id=client_id, client_secret=client_secret)
            auth = ""
        token = auth.removeprefix("Bearer ") or None
        token = token or args.pop("token", None)
        call = Call(method, args, token, team=self.team_of(token))
        call.peer = request.transport.get_extra_info("peername") if request.transport else None
        self.calls.append(call)
        response = await self._answer(method, args, token)
        call.status = response.status
        if isinstance(response.text, str) and response.content_type == "application/json":
            call.result = json.loads(response.text)
        return response

    async def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        if method in self._arrived:
            self._arrived[method].set()
        if method in self._holds:
            await self._holds[method].wait()
        refusals = self._refusals.get(method)
        r: Refusal | None = self._outages.get(method)
        if r is None and refusals:
            r = refusals.pop(0)
        if r is None and method == "chat.postMessage" and self.post_interval:
            r = self._pace(str(args.get("channel", "")))
        if r is not None:
            headers = {"Retry-After": str(r.retry_after)} if r.retry_after is not None else {}
            if r.status >= 500:
                return web.Response(status=r.status, text="upstream trouble", headers=headers)
            return web.json_response(
                {"ok": False, "error": r.error}, status=r.status, headers=headers
            )
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_v2_access(args))
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response(self._apps_connections_open(args))
        ws = self.workspaces.get(token or "")
        if ws is None:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if ws.revoked:
            return web.json_response({"ok": False, "error": "token_revoked"})
        if method in ("auth.test", "users.info", "users.lookupByEmail"):
            return web.json_response(getattr(self, "_" + method.replace(".", "_"))(args, ws))
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(
            self, "_" + method.replace(".", "_"), None
        )
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def _pace(self, channel: str) -> Refusal | None:
        """Slack's limit for posting: about one message per second per channel."""
        assert self.post_interval
        now = time.monotonic()
        last = self._last_post.get(channel)
        if last is not None and now - last < self.post_interval:
            self.rate_limited += 1
            wait = max(1, math.ceil(self.post_interval - (now - last)))
            return Refusal(429, "ratelimited", wait)
        self._last_post[channel] = now
        return None

    def _auth_test(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{ws.name.lower()}.slack.com/",
            "team": ws.name,
            "user": "looplink",
            "team_id": ws.team_id,
            "enterprise_id": ws.enterprise_id,
            "user_id": ws.bot_user,
            "bot_id": BOT_ID if ws.team_id == TEAM_ID else f"B0{ws.team_id[-4:]}",
            "is_enterprise_install": False,
        }

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any]:
        if (args.get("client_id"), args.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return {"ok": False, "error": "invalid_client_id"}
        ws = self.codes.pop(str(args.get("code", "")), None)
        if ws is None:
            return {"ok": False, "error": "invalid_code"}
        ws.revoked = False
        self.workspaces[ws.token] = ws
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": "U0INSTALLER"},
            "scope": "chat:write,chat:write.public,commands,im:history,im:write,users:read,"
            "users:read.email",
            "token_type": "bot",
            "access_token": ws.token,
            "bot_user_id": ws.bot_user,
            "team": {"id": ws.team_id, "name": ws.name},
            "enterprise": {"id": ws.enterprise_id, "name": "Grid"} if ws.enterprise_id else None,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user_id = str(args.get("user", ""))
        found = ws.users.get(user_id)
        if found is None:
            return {"ok": False, "error": "user_not_found"}
        user = self._user_object(ws, user_id, found)
        if str(args.get("include_locale", "")).lower() in ("1", "true"):
            user["locale"] = found.get("locale", "en-US")
        return {"ok": True, "user": user}

    def _users_lookupByEmail(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        for user_id, found in ws.users.items():
            if found["email"].lower() == email:
                return {"ok": True, "user": self._user_object(ws, user_id, found)}
        return {"ok": False, "error": "users_not_found"}

    @staticmethod
    def _user_object(ws: Workspace, user_id: str, found: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": user_id,
            "team_id": ws.team_id,
            "name": found["name"],
            "real_name": found["name"],
            "profile": {"email": found["email"], "real_name": found["name"]},
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel or channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("U"):
            channel = self._dm(channel)
        ts = self._ts()
        message = {
            "type": "message",
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "ts": ts,
        }
        if isinstance(args.get("metadata"), dict):
            message["metadata"] = args["metadata"]
        self.messages[(channel, ts)] = message
        shown = {k: v for k, v in message.items() if k != "metadata"}
        return {"ok": True, "channel": channel, "ts": ts, "message": shown}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, from `oldest`; metadata only with include_all_metadata (as Slack)."""
        channel = str(args.get("channel", ""))
        if channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        limit = int(args.get("limit") or 100)
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = sorted(
            (m for (ch, ts), m in self.messages.items() if ch == channel and float(ts) >= oldest),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        page = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in found]
        return {"ok": True, "messages": page[:limit], "has_more": len(page) > limit}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("ts")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key].update(text=args.get("text", ""), blocks=args.get("blocks", []))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text", "")}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._ts()}

    def _dm(self, user: str) -> str:
        if user not in self.dms:
            self.dms[user] = f"D{len(self.dms) + 1:08d}"
        return self.dms[user]

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users.startswith(("U", "W")) or "," in users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": self._dm(users)}}

    def _view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._seq):08d}"
        stored = {**view, "id": view_id, "hash": f"{next(self._seq)}.h", "team_id": TEAM_ID}
        self.views[view_id] = stored
        return stored

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = self._view(args["view"])
        self.modals.append(view["id"])
        return {"ok": True, "view": view}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id", ""))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "view": self._view(args["view"], view_id)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        if not user.startswith(("U", "W")):
            return {"ok": False, "error": "invalid_arguments"}
        old = self.homes.get(user)
        view = self.homes[user] = self._view(args["view"], old["id"] if old else None)
        return {"ok": True, "view": view}

    # ---- Socket Mode -------------------------------------------------------------------

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._socket_ready.set()
        async for msg in ws:
            if msg.type.name != "TEXT":
                continue
            ack = json.loads(msg.data)
            async with self._acked:
                self.socket_acks[ack.get("envelope_id", "")] = ack
                self._acked.notify_all()
        return ws

    async def over_socket(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one Socket Mode envelope and wait for the app's acknowledgement."""
        await self._socket_ready.wait()
        assert self._socket is not None
        envelope_id = f"env-{next(self._seq)}"
        await self._socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        async with self._acked:
            await self._acked.wait_for(lambda: envelope_id in self.socket_acks)
        return self.socket_acks[envelope_id]

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("response_url", {"name": request.match_info["name"], **body}))
        return web.Response(text="ok")


# ---- Slack's side of the request URL ---------------------------------------------------


def sign(secret: str, timestamp: int, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**el, "block_id": b.get("block_id", f"b{i}")}
        for i, b in enumerate(blocks)
        if b.get("type") == "actions"
        for el in b["elements"]
    ]


def block_text(blocks: list[dict[str, Any]]) -> str:
    """The visible text of some blocks (mrkdwn as sent: still escaped)."""
    out: list[str] = []
    for b in blocks:
        if "text" in b and isinstance(b["text"], dict):
            out.append(b["text"]["text"])
        for f in b.get("fields", []):
            out.append(f["text"])
        for el in b.get("elements", []):
            if isinstance(el.get("text"), dict):
                out.append(el["text"]["text"])
            elif isinstance(el.get("text"), str):
                out.append(el["text"])
    return "\n".join(out)


def fill(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The `state.values` Slack sends for a modal filled with `values` (by block id).

    Untouched fields keep their initial value, as in Slack.
    """
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        el = block["element"]
        bid, aid, kind = block["block_id"], el["action_id"], el["type"]
        given = values.get(bid)
        entry: dict[str, Any] = {"type": kind}
        if kind == "plain_text_input":
            entry["value"] = given if given is not None else el.get("initial_value")
        elif kind == "static_select":
            wanted = given if given is not None else (el.get("initial_option") or {}).get("value")
            chosen = [o for o in el["options"] if o["value"] == wanted]
            entry["selected_option"] = chosen[0] if chosen else None
        elif kind == "multi_static_select":
            wanted_list = (
                given if given is not None else [o["value"] for o in el.get("initial_options", [])]
            )
            entry["selected_options"] = [o for o in el["options"] if o["value"] in wanted_list]
        elif kind == "checkboxes":
            on = bool(given) if given is not None else bool(el.get("initial_options"))
            entry["selected_options"] = el["options"][:1] if on else []
        elif kind == "users_select":
            entry["selected_user"] = given if given is not None else el.get("initial_user")
        state[bid] = {aid: entry}
    return state


class SlackUser:
    """Sends signed, Slack-shaped requests to Looplink's /slack/events as people in Slack."""

    def __init__(
        self,
        client: Client,
        secret: str,
        fake: FakeSlack,
        team: str = TEAM_ID,
        enterprise: str | None = None,
    ) -> None:
        self.client = client
        self.secret = secret
        self.fake = fake
        self.team = team  # the workspace the requests come from
        self.enterprise = enterprise  # its Enterprise Grid organisation, if any
        self._n = itertools.count(1)

    def in_workspace(self, team: str, enterprise: str | None = None) -> SlackUser:
        """The same app's requests, as people of another workspace (signed alike)."""
        other = SlackUser(self.client, self.secret, self.fake, team, enterprise)
        other._n = self._n  # ids (triggers, events) stay unique across both
        return other

    def _team(self) -> dict[str, Any]:
        return {"id": self.team, "domain": self.team.lower()}

    def _enterprise(self) -> dict[str, Any] | None:
        return None if self.enterprise is None else {"id": self.enterprise, "name": "Grid"}

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._n):06d}"

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(self.secret, ts, body),
            **(headers or {}),
        }
        resp = await self.client.post("/slack/events", data=body.encode(), headers=sent)
        return resp.status, await resp.text()

    async def command(
        self,
        user: str,
        command: str,
        text: str = "",
        channel: str = "C0LINCOLN",
        trigger_id: str | None = None,
    ) -> tuple[int, str]:
        trigger = trigger_id or self._id("13345224609.738474920.")
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": self.team,
                "team_domain": self.team.lower(),
                **({"enterprise_id": self.enterprise} if self.enterprise else {}),
                "channel_id": channel,
                "channel_name": "lincoln-team",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(f"command-{trigger}"),
                "trigger_id": trigger,
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any], event_id: str | None = None) -> tuple[int, str]:
        envelope = {
            "token": "legacy-verification-token",
            "team_id": self.team,
            **({"enterprise_id": self.enterprise} if self.enterprise else {}),
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._id("Ev0"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": self.enterprise,
                    "team_id": self.team,
                    "user_id": BOT_USER,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        }
        return await self.post(json.dumps(envelope), "application/json")

    async def dm(self, user: str, text: str, event_id: str | None = None) -> tuple[int, str]:
        ts = f"{int(time.time())}.{next(self._n):06d}"
        channel = self.fake._dm(user)
        return await self.event(
            {
                "type": "message",
                "channel": channel,
                "user": user,
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "channel_type": "im",
                "client_msg_id": self._id("c0ffee-"),
            },
            event_id,
        )

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team}

    def click_payload(
        self,
        user: str,
        channel: str,
        message: dict[str, Any],
        action_id: str,
        *,
        action_ts: str | None = None,
    ) -> dict[str, Any]:
        """block_actions for a button in a posted message (found by its action_id)."""
        found = [b for b in buttons(message["blocks"]) if b["action_id"] == action_id]
        assert found, (
            f"no button {action_id} in {[b['action_id'] for b in buttons(message['blocks'])]}"
        )
        el = found[0]
        trigger = self._id("13345224609.7384749.")
        return {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": trigger,
            "team": self._team(),
            "enterprise": self._enterprise(),
            "is_enterprise_install": False,
            "channel": {
                "id": channel,
                "name": "directmessage" if channel.startswith("D") else "team",
            },
            "message": message,
            "state": {"values": {}},
            "response_url": self.fake.response_url(f"action-{trigger}"),
            "actions": [
                {
                    "action_id": el["action_id"],
                    "block_id": el["block_id"],
                    "text": el["text"],
                    "value": el.get("value", ""),
                    "style": el.get("style"),
                    "type": "button",
                    "action_ts": action_ts or f"{int(time.time())}.{next(self._n):06d}",
                }
            ],
        }

    async def click(
        self, user: str, channel: str, message: dict[str, Any], action_id: str
    ) -> tuple[int, str]:
        return await self.interact(self.click_payload(user, channel, message, action_id))

    async def click_in_view(
        self, user: str, view: dict[str, Any], action_id: str
    ) -> tuple[int, str]:
        """block_actions for a button in a modal or App Home (no response_url there)."""
        found = [b for b in buttons(view["blocks"]) if b["action_id"] == action_id]
        assert found, f"no button {action_id}"
        el = found[0]
        return await self.interact(
            {
                "type": "block_actions",
                "user": self._user(user),
                "api_app_id": APP_ID,
                "token": "legacy-verification-token",
                "container": {"type": "view", "view_id": view["id"]},
                "trigger_id": self._id("13345224609.99."),
                "team": self._team(),
                "enterprise": self._enterprise(),
                "is_enterprise_install": False,
                "view": view,
                "actions": [
                    {
                        "action_id": el["action_id"],
                        "block_id": el["block_id"],
                        "text": el["text"],
                        "value": el.get("value", ""),
                        "type": "button",
                        "action_ts": f"{int(time.time())}.{next(self._n):06d}",
                    }
                ],
            }
        )

    def submit_payload(
        self, user: str, view: dict[str, Any], values: dict[str, Any]
    ) -> dict[str, Any]:
        """view_submission for a modal Slack opened (as recorded by the fake)."""
        submitted = {**view, "state": {"values": fill(view, values)}}
        submitted.setdefault("root_view_id", view["id"])
        submitted.setdefault("previous_view_id", None)
        submitted.setdefault("app_id", APP_ID)
        submitted.setdefault("bot_id", BOT_ID)
        return {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": self._id("13345224609.55."),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": self._enterprise(),
        }

    async def submit(
        self, user: str, view: dict[str, Any], values: dict[str, Any]
    ) -> tuple[int, str]:
        return await self.interact(self.submit_payload(user, view, values))

    async def message_shortcut(
        self, user: str, channel: str, text: str, author: str = "U0ALICE"
    ) -> tuple[int, str]:
        trigger = self._id("13345224609.42.")
        ts = f"{int(time.time())}.{next(self._n):06d}"
        return await self.interact(
            {
                "type": "message_action",
                "token": "legacy-verification-token",
                "action_ts": ts,
                "team": self._team(),
                "user": self._user(user),
                "channel": {"id": channel, "name": "team"},
                "is_enterprise_install": False,
                "enterprise": self._enterprise(),
                "callback_id": "report_as_barrier",
                "trigger_id": trigger,
                "response_url": self.fake.response_url(f"shortcut-{trigger}"),
                "message_ts": ts,
                "message": {"type": "message", "user": author, "text": text, "ts": ts},
            }
        )

    async def open_home(self, user: str) -> tuple[int, str]:
        return await self.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": self.fake._dm(user),
                "tab": "home",
                "event_ts": f"{int(time.time())}.000100",
            }
        )
