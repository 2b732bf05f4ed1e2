"""A fake Bot Framework connector: a real aiohttp server on an ephemeral port.

It records every call the bot makes (`calls`), answers like the connector (`{"id": ...}`),
keeps the current version of each posted activity (so tests can see in-place updates), serves
conversation members, and fails on demand (`fail(500)`, `fail(429, retry_after=7)`).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ZWSP = "\u200b"


@dataclass
class Call:
    method: str
    path: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    headers: dict[str, str]

    def text(self) -> str:
        return activity_text(self.body)


@dataclass
class Failure:
    status: int
    retry_after: str | None
    methods: tuple[str, ...]


@dataclass
class Posted:
    conversation_id: str
    activity_id: str
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        return self.versions[-1]

    @property
    def card(self) -> dict[str, Any]:
        return card_of(self.body)

    def text(self) -> str:
        return activity_text(self.body)


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    for a in activity.get("attachments") or []:
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return dict(a["content"])
    return {}


def _walk(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("text", "title", "label"):
            if isinstance(node.get(key), str):
                out.append(node[key])
        for key in ("body", "items", "actions", "columns", "card"):
            if key in node:
                out += _walk(node[key])
    elif isinstance(node, list):
        for n in node:
            out += _walk(n)
    return out


def card_text(content: dict[str, Any]) -> str:
    """Everything a person would read on a card (zero-width spaces removed)."""
    return "\n".join(_walk(content)).replace(ZWSP, "")


def activity_text(activity: dict[str, Any]) -> str:
    parts = [str(activity.get("text") or "")]
    parts += [card_text(a.get("content") or {}) for a in activity.get("attachments") or []]
    return "\n".join(p for p in parts if p).replace(ZWSP, "")


def actions_of(content: dict[str, Any]) -> list[dict[str, Any]]:
    return list(content.get("actions") or [])


def action(content: dict[str, Any], title: str) -> dict[str, Any]:
    for a in actions_of(content):
        if a.get("title") == title:
            return dict(a)
    raise AssertionError(
        f"no action {title!r} on card: {[a.get('title') for a in actions_of(content)]}"
    )


class FakeConnector:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.posted: dict[tuple[str, str], Posted] = {}
        self.members: dict[str, dict[str, Any]] = {}
        # a team's roster (GET .../pagedmembers), by the conversation asked about; the tenant's
        # members (`tenantId`) of `members` when not given
        self.rosters: dict[str, list[str]] = {}
        self._failures: deque[Failure] = deque()
        self._ids = itertools.count(1)
        self._server: TestServer | None = None
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conv}/activities", self._post)
        app.router.add_post("/v3/conversations/{conv}/activities/{act}", self._post)
        app.router.add_put("/v3/conversations/{conv}/activities/{act}", self._put)
        app.router.add_get("/v3/conversations/{conv}/members/{member}", self._member)
        app.router.add_get("/v3/conversations/{conv}/pagedmembers", self._roster)
        self.app = app

    async def start(self) -> FakeConnector:
        self._server = TestServer(self.app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/"))

    # ---- test controls -----------------------------------------------------------------

    def fail(
        self,
        status: int,
        times: int = 1,
        retry_after: str | None = None,
        methods: tuple[str, ...] = ("POST", "PUT"),
    ) -> None:
        """Answer the next `times` activity calls with `status` (and a Retry-After header)."""
        for _ in range(times):
            self._failures.append(Failure(status, retry_after, methods))

    def to(self, conversation_id: str) -> list[Posted]:
        """The messages in a conversation (a channel includes its threads), current versions."""
        return [
            p
            for (conv, _), p in self.posted.items()
            if conv == conversation_id or conv.startswith(conversation_id + ";")
        ]

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method in ("POST", "PUT")]

    def all_json(self) -> str:
        """Every request the bot made, paths and bodies, as one string (anonymity checks)."""
        return "\n".join(
            c.path + " " + json.dumps(c.body, ensure_ascii=False) for c in self.calls
        ).replace(ZWSP, "")

    # ---- handlers ----------------------------------------------------------------------

    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        body: dict[str, Any] = {}
        if request.can_read_body:
            body = await request.json()
        call = Call(
            request.method,
            request.path,
            request.match_info.get("conv", ""),
            request.match_info.get("act"),
            body,
            dict(request.headers),
        )
        self.calls.append(call)
        if self._failures and request.method in self._failures[0].methods:
            f = self._failures.popleft()
            headers = {"Retry-After": f.retry_after} if f.retry_after else {}
            return call, web.json_response(
                {"error": {"code": "Failure", "message": f"fake {f.status}"}},
                status=f.status,
                headers=headers,
            )
        return call, None

    async def _create(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        if failed is not None:
            return failed
        member = (call.body.get("members") or [{}])[0].get("id", "")
        return web.json_response({"id": f"a:created-{next(self._ids)}-{len(member)}"}, status=201)

    async def _post(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        if failed is not None:
            return failed
        activity_id = f"m{next(self._ids)}"
        conv = call.conversation_id
        self.posted[(conv, activity_id)] = Posted(conv, activity_id, [call.body])
        return web.json_response({"id": activity_id}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        if failed is not None:
            return failed
        key = (call.conversation_id, call.activity_id or "")
        if key not in self.posted:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        self.posted[key].versions.append(call.body)
        return web.json_response({"id": call.activity_id}, status=200)

    async def _roster(self, request: web.Request) -> web.Response:
        """One member per page, to exercise the continuation token."""
        call, failed = await self._record(request)
        if failed is not None:
            return failed
        conv = request.match_info["conv"]
        ids = self.rosters.get(conv, list(self.members))
        start = int(request.query.get("continuationToken") or 0)
        page = [self.members[m] for m in ids[start : start + 1] if m in self.members]
        body: dict[str, Any] = {"members": page}
        if start + 1 < len(ids):
            body["continuationToken"] = str(start + 1)
        return web.json_response(body)

    async def _member(self, request: web.Request) -> web.Response:
        call, _ = await self._record(request)
        member = self.members.get(request.match_info["member"])
        if member is None:
            return web.json_response(
                {"error": {"code": "MemberNotFoundInConversation"}}, status=404
            )
        return web.json_response(member)
