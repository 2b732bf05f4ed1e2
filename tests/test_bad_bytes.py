"""Bodies no platform sends: invalid UTF-8, an unknown charset, a NUL character.

Slack and Teams send UTF-8 JSON or form data, and never a NUL (PostgreSQL cannot store one).
Such a request is malformed: 400 before anything reads it further, and nothing is stored, on
SQLite and on PostgreSQL alike. Before, an undecodable Slack body was a 500 before the
signature check, and a NUL in a Slack mention or in a Teams `from.id` was a 500 on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, func, select

from bot.clock import FixedClock
from bot.db.models import ConversationRef, Item, Kudos, Outbox, ProcessedDelivery
from tests.fakes.slack_api import APP_ID, TEAM_ID, FakeSlack
from tests.fakes.teams_client import QUINN, TENANT
from tests.slack_harness import SECRET, Slack, running_slack
from tests.teams_world import teams_world


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


def command_body(text: str, trigger: str = "1.2.3") -> bytes:
    return urlencode(
        {
            "team_id": TEAM_ID,
            "channel_id": "C0LINCOLN",
            "user_id": "U0CAROL",
            "command": "/kudos",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": "http://127.0.0.1:9/response",
            "trigger_id": trigger,
        }
    ).encode()


async def post_signed(
    slack: Slack, body: bytes, content_type: str = "application/x-www-form-urlencoded"
) -> tuple[int, str]:
    """Signed over the raw bytes, exactly as Slack signs."""
    ts = str(int(time.time()))
    base = b"v0:" + ts.encode() + b":" + body
    sig = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sig,
    }
    resp = await slack.user.client.post("/slack/events", data=body, headers=headers)
    return resp.status, await resp.text()


async def stored(slack: Slack) -> dict[str, int]:
    out = {}
    async with slack.server.rt.db.transaction() as s:
        for model in (ProcessedDelivery, Kudos, Item, Outbox, ConversationRef):
            out[model.__name__] = int(await s.scalar(select(func.count()).select_from(model)) or 0)
    return out


async def test_invalid_utf8_is_400_not_500(slack: Slack) -> None:
    before = await stored(slack)
    body = command_body("for the data review").replace(b"data", b"d\xff\xfea")
    status, _ = await post_signed(slack, body)
    assert status == 400
    assert await stored(slack) == before


@pytest.mark.parametrize("charset", ["x-unknown-42", "latin-1", "utf-16"])
async def test_a_charset_other_than_utf8_is_400(slack: Slack, charset: str) -> None:
    before = await stored(slack)
    body = command_body("@alice for the data review")
    ct = f"application/x-www-form-urlencoded; charset={charset}"
    status, _ = await post_signed(slack, body, ct)
    assert status == 400
    assert await stored(slack) == before


async def test_utf8_declared_or_not_goes_through(slack: Slack) -> None:
    for n, ct in enumerate(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "application/x-www-form-urlencoded; charset=UTF-8",
        ]
    ):
        body = command_body("<@U0ALICE> for the data review — merci", trigger=f"9.{n}")
        status, _ = await post_signed(slack, body, ct)
        assert status == 200
    assert (await stored(slack))["Kudos"] == 3


async def test_unsigned_bad_bytes_are_still_refused(slack: Slack) -> None:
    body = command_body("x").replace(b"x", b"\xff")
    resp = await slack.user.client.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status in (400, 401)


@pytest.mark.parametrize(
    "text",
    [
        "<@U0\x00ALICE> for the data review",  # a NUL inside a mention
        "<#C0LIN\x00COLN> for the data review",
        "@alice for the data\x00 review",
    ],
)
async def test_a_nul_in_a_slash_command_is_400_and_nothing_is_stored(
    slack: Slack, text: str
) -> None:
    before = await stored(slack)
    status, _ = await post_signed(slack, command_body(text))
    assert status == 400
    assert await stored(slack) == before


async def test_a_nul_in_an_event_is_400_and_nothing_is_stored(slack: Slack) -> None:
    before = await stored(slack)
    envelope: dict[str, Any] = {
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": "Ev0NUL",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": "D0CAROL",
            "user": "U0CA\x00ROL",
            "text": "mine",
            "ts": "1.1",
            "channel_type": "im",
        },
    }
    status, _ = await post_signed(slack, json.dumps(envelope).encode(), "application/json")
    assert status == 400
    assert await stored(slack) == before


# ---- Teams ------------------------------------------------------------------------------


def teams_message(from_id: str, service_url: str) -> dict[str, Any]:
    """A personal message as Teams sends it (from an allowed Bot Connector address)."""
    return {
        "type": "message",
        "id": "1700000000999",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": from_id, "name": "Quinn Murphy", "aadObjectId": QUINN.aad},
        "recipient": {"id": "28:bot", "name": "Looplink"},
        "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": "a:1x"},
        "text": "mine",
        "channelData": {"tenant": {"id": TENANT}},
    }


@pytest.mark.parametrize("where", ["from.id", "text", "conversation.id"])
async def test_a_nul_in_a_teams_activity_is_400_and_nothing_is_stored(
    db_url: str, clock: FixedClock, where: str
) -> None:
    async with teams_world(db_url, clock) as w:
        activity = teams_message(QUINN.id, w.teams.service_url)
        assert (await w.teams.send({**activity, "id": "1700000000998"})).status == 200
        async with w.server.rt.db.transaction() as s:
            for model in (ProcessedDelivery, ConversationRef, Outbox):
                await s.execute(delete(model))
        w.connector.calls.clear()
        if where == "from.id":
            activity["from"]["id"] = "29:qu\x00inn"
        elif where == "text":
            activity["text"] = "mi\x00ne"
        else:
            activity["conversation"]["id"] = "a:1\x00x"
        reply = await w.teams.send(activity)
        assert reply.status == 400
        async with w.server.rt.db.transaction() as s:
            for model in (ProcessedDelivery, ConversationRef, Outbox):
                assert await s.scalar(select(func.count()).select_from(model)) == 0
        assert w.connector.calls == []


async def test_invalid_utf8_to_teams_is_400(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        good = teams_message(QUINN.id, w.teams.service_url)
        raw = json.dumps(good).encode().replace(b"mine", b"mi\xffne")
        async with w.teams.http.post(
            w.teams.bot_url, data=raw, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
        async with w.teams.http.post(
            w.teams.bot_url,
            data=json.dumps(good).encode(),
            headers={"Content-Type": "application/json; charset=x-unknown"},
        ) as r:
            assert r.status == 400
