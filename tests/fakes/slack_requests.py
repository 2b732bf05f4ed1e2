"""Slack-shaped requests, built and signed the way Slack does, for fault tests and benchmarks.

`SlackRequests` builds bodies (each with its own delivery id: trigger id, view id, event id);
`signed_headers` signs one at send time with a fresh timestamp, and marks Slack's retries.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.fakes.slack_api import APP_ID, TEAM_ID, FakeSlack, SlackUser, sign

SECRET = "bench-signing-secret-0123456789abcdef"
# Slack users of examples/org.yaml who belong to one building team (Lincoln or Washington):
# their reports land in C0LINCOLN and C0WASHINGTON.
REPORTERS = ["U0CAROL", "U0DEV", "U0ERIN", "U0FEMI", "U0JUNE", "U0KOFI", "U0LENA"]


@dataclass
class Request:
    body: bytes
    content_type: str
    key: str = ""  # what the request is about (a report's marker), for fault tests


@dataclass
class SlackRequests:
    """Builds the requests Slack sends: slash commands and modal submissions, each unique."""

    fake: FakeSlack
    view: dict[str, Any]  # a barrier modal as Slack holds it (opened once by Looplink)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _n: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def command(self, user: str | None = None) -> Request:
        n = next(self._n)
        user = user or REPORTERS[n % len(REPORTERS)]
        trigger = f"{n}.{self.run}.bench"
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "riverside",
                "channel_id": "C0LINCOLN",
                "channel_name": "lincoln-team",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/barrier",
                "text": f"bench {self.run} {n}: screener data late",
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(f"command-{trigger}"),
                "trigger_id": trigger,
            }
        )
        return Request(body.encode(), "application/x-www-form-urlencoded", trigger)

    def submit(self, user: str | None = None, marker: str | None = None) -> Request:
        """A barrier report submitted from the modal; each has its own view id (delivery id)."""
        n = next(self._n)
        user = user or REPORTERS[n % len(REPORTERS)]
        marker = marker or f"bench-{self.run}-{n}"
        view = {**self.view, "id": f"V{self.run}{n:07d}", "hash": f"{n}.{self.run}"}
        values = {
            "summary": f"{marker}: screener data arrives three weeks late",
            "details": "Every benchmark window; all grades",
            "affected": ["students", "staff"],
            "driver": "data_systems",
            "urgency": "high",
        }
        payload = SlackUser(None, SECRET, self.fake).submit_payload(  # type: ignore[arg-type]
            user, view, values
        )
        body = urlencode({"payload": json.dumps(payload)})
        return Request(body.encode(), "application/x-www-form-urlencoded", marker)

    def dm(self, user: str | None = None, text: str = "mine") -> Request:
        """A direct message to the bot (an Events API envelope); each has its own event id."""
        n = next(self._n)
        user = user or REPORTERS[n % len(REPORTERS)]
        ts = f"{int(time.time())}.{n:06d}"
        envelope = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": f"Ev{self.run}{n:07d}",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": f"D{user[1:]}",
                "user": user,
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "channel_type": "im",
            },
        }
        return Request(json.dumps(envelope).encode(), "application/json", str(envelope["event_id"]))


def signed_headers(req: Request, retry: int = 0) -> dict[str, str]:
    ts = int(time.time())
    headers = {
        "Content-Type": req.content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(SECRET, ts, req.body.decode()),
    }
    if retry:  # how Slack marks its retries of a request that got no timely 200
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


async def barrier_view(fake: FakeSlack, base_url: str) -> dict[str, Any]:
    """Ask Looplink for the barrier modal once (a real /barrier), as Slack would store it."""
    reqs = SlackRequests(fake, view={})
    req = reqs.command("U0CAROL")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base_url}/slack/events", data=req.body, headers=signed_headers(req)) as r,
    ):
        assert r.status == 200, await r.text()
    deadline = time.monotonic() + 10
    while not fake.modals and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert fake.modals, "Looplink did not open the modal"
    return fake.views[fake.modals[-1]]
