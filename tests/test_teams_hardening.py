"""Teams requests that are not from Teams (issue 10), over real HTTP to botbuilder at
/api/messages with the fake connector; and deeply nested JSON on both platforms.

- unauthenticated mode (no MICROSOFT_APP_ID) only on loopback, only from this machine;
- a serviceUrl is accepted only from an authenticated activity, only when it is an allowed Bot
  Connector address, and the connector never calls any other address, whatever is stored;
- a personal chat never replaces a team channel's reference;
- the Authorization header is checked before the body is read; Teams bodies are capped (413);
- deeply nested JSON is a 400 on Teams and Slack, never a 500;
- an activity without from, conversation or serviceUrl is a 400 and does nothing.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from adapters.teams.auth import BotConfig
from adapters.teams.platform import MAX_BODY, TeamsPlatform
from bot.clock import FixedClock
from bot.db.models import Base, ConversationRef, Item, Outbox, ProcessedDelivery
from bot.settings import SettingsError
from looplink.server import build_server
from tests.conftest import EXAMPLE_ORG
from tests.fakes.connector import FakeConnector
from tests.fakes.slack_api import FakeSlack
from tests.fakes.teams_client import OAKGROVE, QUINN, TENANT, TeamsClient
from tests.settings_support import make_settings
from tests.slack_harness import running_slack
from tests.teams_world import World, teams_world
from tests.test_teams_loop import item_card, report_with_form

APP_ID = "0f4d1c1e-5b1c-4e8e-9a55-1b2c3d4e5f60"


async def count(w: World, model: type[Base], *where: ColumnElement[bool]) -> int:
    async with w.server.rt.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def team_ref(w: World, team: str) -> dict[str, Any] | None:
    async with w.server.rt.db.transaction() as s:
        row = await s.get(ConversationRef, ("team", team, "teams"))
        return dict(row.ref) if row is not None else None


async def person_ref(w: World, person: str) -> dict[str, Any] | None:
    async with w.server.rt.db.transaction() as s:
        row = await s.get(ConversationRef, ("person", person, "teams"))
        return dict(row.ref) if row is not None else None


@pytest.fixture
async def evil() -> AsyncIterator[FakeConnector]:
    """The attacker's own server, on loopback like the real fake connector, another port."""
    server = await FakeConnector().start()
    yield server
    await server.close()


# ---- unauthenticated mode ---------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "looplink.example.org"])
async def test_unauthenticated_teams_refuses_to_start_off_loopback(db_url: str, host: str) -> None:
    settings = make_settings(
        database_url=db_url, org_file=EXAMPLE_ORG, teams_enabled=True, host=host
    )
    with pytest.raises(SettingsError) as err:
        await build_server(settings)
    message = str(err.value)
    assert f"LOOPLINK_HOST is '{host}'" in message
    assert "LOOPLINK_HOST=127.0.0.1" in message and "MICROSOFT_APP_ID" in message


async def test_a_server_that_refuses_to_start_leaves_no_connection_open(db_url: str) -> None:
    """The refusal comes after the database was opened: it is closed again (a leaked
    connection's thread once failed a later, unrelated test with 'Event loop is closed')."""
    before = set(threading.enumerate())
    settings = make_settings(
        database_url=db_url, org_file=EXAMPLE_ORG, teams_enabled=True, host="0.0.0.0"
    )
    with pytest.raises(SettingsError):
        await build_server(settings)
    for _ in range(100):
        left = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("asyncio_")
        ]  # the event loop's own executor threads live as long as the loop
        if not left:
            break
        await asyncio.sleep(0.02)
    assert not left, left


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.53"])
async def test_unauthenticated_teams_starts_on_loopback(db_url: str, host: str) -> None:
    settings = make_settings(
        database_url=db_url, org_file=EXAMPLE_ORG, teams_enabled=True, host=host
    )
    server = await build_server(settings)
    await server.rt.db.close()


def test_from_env_gives_the_same_clear_refusal() -> None:
    from adapters.teams.auth import bot_config
    from adapters.teams.settings import TeamsSettings
    from looplink.platforms import settings_from_env

    def teams_config(env: dict[str, str]) -> BotConfig:
        settings = settings_from_env(env)
        return bot_config(settings.platform("teams", TeamsSettings), settings.host)

    env = {"LOOPLINK_TEAMS": "1", "LOOPLINK_HOST": "0.0.0.0"}
    with pytest.raises(SettingsError, match="only listens on this machine"):
        settings_from_env(env)  # at start, before anything touches the database
    env = {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "x", "LOOPLINK_HOST": "0.0.0.0"}
    assert teams_config(env).APP_ID == APP_ID  # authenticated: any host


async def test_unauthenticated_requests_are_only_taken_from_this_machine(
    db_url: str, clock: FixedClock
) -> None:
    async with teams_world(db_url, clock) as w:
        (platform,) = [p for p in w.server.platforms if isinstance(p, TeamsPlatform)]
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: (
            ("203.0.113.5", 40000) if name == "peername" else default
        )
        request = make_mocked_request(
            "POST", "/api/messages", headers={"Content-Type": "application/json"},
            transport=transport,
        )  # fmt: skip
        response = await platform.messages(request)
        assert response.status == 401
        assert w.connector.calls == [] and await count(w, ProcessedDelivery) == 0


# ---- serviceUrl ----------------------------------------------------------------------------------


async def test_a_service_url_that_is_not_a_bot_connector_is_refused(
    db_url: str, clock: FixedClock, evil: FakeConnector
) -> None:
    """The attack from the issue: without authentication, re-point Oak Grove's channel and
    Quinn's chat to the attacker's server; a new anonymous report's card then went there."""
    async with teams_world(db_url, clock) as w:
        assert (await w.teams.install_team(QUINN, OAKGROVE)).status == 200
        assert (await w.teams.say(QUINN, "help")).status == 200
        before = (await team_ref(w, "oakgrove"), await person_ref(w, "quinn"))
        attacker = TeamsClient(w.teams.http, w.teams.bot_url.rsplit("/api/", 1)[0], evil.url)
        assert (await attacker.install_team(QUINN, OAKGROVE)).status == 403
        assert (await attacker.say(QUINN, "mine")).status == 403
        assert (await team_ref(w, "oakgrove"), await person_ref(w, "quinn")) == before
        iid = await report_with_form(w, QUINN, anonymous=True)
        await w.deliver()
        assert evil.calls == []
        assert "Anonymous" in item_card(w, OAKGROVE, iid).text()


async def test_the_connector_never_calls_an_address_that_is_not_allowed(
    db_url: str, clock: FixedClock, evil: FakeConnector
) -> None:
    """A reference stored before this check (or by hand) pointing at another server: the
    delivery fails for good, and that server never sees the message nor the bot's token."""
    async with teams_world(db_url, clock) as w:
        await w.teams.install_team(QUINN, OAKGROVE)
        async with w.server.rt.db.transaction() as s:
            row = await s.get(ConversationRef, ("team", "oakgrove", "teams"))
            assert row is not None
            row.ref = {**row.ref, "serviceUrl": evil.url}
        await report_with_form(w, QUINN, anonymous=True)
        await w.deliver()
        assert evil.calls == []
        failed = [r for r in await w.outbox() if r.dest_id == "oakgrove"]
        assert failed and all(r.status == "failed" for r in failed)
        assert all("not an allowed Bot Connector address" in (r.last_error or "") for r in failed)


async def test_a_personal_chat_never_replaces_a_team_channel_reference(
    db_url: str, clock: FixedClock
) -> None:
    """Two allowed connectors (say two regions): a personal-chat activity that names Oak
    Grove's channel in its channelData, with or without conversationType, leaves Oak Grove's
    reference as its own channel stored it."""
    other = await FakeConnector().start()
    try:
        async with teams_world(db_url, clock) as w:
            platform = next(p for p in w.server.platforms if isinstance(p, TeamsPlatform))
            from adapters.teams.service_urls import ServiceUrls

            allowed = ServiceUrls([w.connector.url, other.url])
            platform.service_urls = platform.connector.allowed = allowed
            await w.teams.install_team(QUINN, OAKGROVE)
            stored = await team_ref(w, "oakgrove")
            assert stored is not None and stored["serviceUrl"] == w.connector.url
            client = TeamsClient(w.teams.http, w.teams.bot_url.rsplit("/api/", 1)[0], other.url)
            for declared in (True, False):
                act = {
                    **client._base(QUINN, client.personal(QUINN)),
                    "type": "message",
                    "id": client.new_id(),
                    "text": "help",
                    "channelData": client.channel_data(OAKGROVE),
                }
                if not declared:
                    del act["conversation"]["conversationType"]
                assert (await client.send(act)).status == 200
                assert await team_ref(w, "oakgrove") == stored, declared
    finally:
        await other.close()


# ---- before the body ----------------------------------------------------------------------------


async def raw_post(port: int, headers: dict[str, str], body: bytes, send_all: bool) -> int:
    """POST with a raw socket; with send_all False, the declared body is never finished, so
    only a server that answers from the headers alone answers at all."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = ["POST /api/messages HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    writer.write(body if send_all else body[: len(body) // 4])
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_the_token_is_checked_before_the_body_is_read(db_url: str, clock: FixedClock) -> None:
    async with teams_world(
        db_url, clock, teams_app_id=APP_ID, teams_app_password="not-a-real-secret"
    ) as w:
        port = int(w.teams.bot_url.split(":")[-1].split("/")[0])
        body = json.dumps({"type": "message", "text": "x" * 150_000}).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        for auth in (None, "Bearer not.a.token", "Basic dXNlcjpwYXNz"):
            sent = {**headers, **({"Authorization": auth} if auth else {})}
            assert await raw_post(port, sent, body, send_all=False) == 401, auth


async def test_a_teams_body_over_the_cap_is_refused_unread(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        port = int(w.teams.bot_url.split(":")[-1].split("/")[0])
        big = b"{" + b" " * MAX_BODY + b"}"
        headers = {"Content-Type": "application/json", "Content-Length": str(len(big))}
        assert await raw_post(port, headers, big, send_all=False) == 413

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"type": "message", "text": "'
            for _ in range(2 * MAX_BODY // 65536):
                yield b"x" * 65536

        async with w.teams.http.post(
            w.teams.bot_url, data=chunks(), headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 413
        assert w.connector.calls == [] and await count(w, ProcessedDelivery) == 0


# ---- nested JSON, missing parts ----------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_deeply_nested_json_is_a_400_on_teams(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        for inner in (nested(100_000), nested(200)):
            activity = {
                **w.teams._base(QUINN, w.teams.personal(QUINN)),
                "type": "message",
                "id": w.teams.new_id(),
                "text": "help",
            }
            body = json.dumps(activity)[:-1] + f', "value": {inner}}}'
            async with w.teams.http.post(
                w.teams.bot_url, data=body, headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 400, (len(inner), await r.text())
        assert w.connector.calls == [] and await count(w, ProcessedDelivery) == 0


async def test_deeply_nested_json_is_a_400_on_slack(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> None:
    """Signed, otherwise valid requests (a DM, a button) carrying deeply nested JSON."""
    async with running_slack(db_url, clock, fake) as slack:
        for n, inner in enumerate((nested(100_000), nested(900), nested(200))):
            event = {
                "type": "event_callback",
                "team_id": "T0LOOPLINK",
                "event_id": f"Ev0NESTED{n}",
                "event": {
                    "type": "message",
                    "channel_type": "im",
                    "user": "U0CAROL",
                    "channel": "D0CAROL",
                    "text": "mine",
                },
                "extra": "X",
            }
            body = json.dumps(event).replace('"X"', inner)
            status, _ = await slack.user.post(body, "application/json")
            assert status == 400, len(inner)
            action = {
                "type": "block_actions",
                "user": {"id": "U0CAROL"},
                "trigger_id": f"1.{n}",
                "actions": [
                    {"type": "button", "action_id": "mine", "action_ts": f"1.{n}", "value": ""}
                ],
                "extra": "X",
            }
            form = urlencode({"payload": json.dumps(action).replace('"X"', inner)})
            status, _ = await slack.user.post(form, "application/x-www-form-urlencoded")
            assert status == 400, len(inner)
        await slack.settle()
        assert await slack.count(ProcessedDelivery) == 0
        assert fake.methods() == []


@pytest.mark.parametrize(
    "drop",
    ["from", "conversation", "serviceUrl", "from.id", "conversation.id", "type", "channelId"],
)
async def test_an_activity_without_its_parts_is_refused_and_does_nothing(
    db_url: str, clock: FixedClock, drop: str
) -> None:
    async with teams_world(db_url, clock) as w:
        activity = {
            **w.teams._base(QUINN, w.teams.personal(QUINN)),
            "type": "message",
            "id": w.teams.new_id(),
            "text": "barrier the screener is late",
            "channelData": {"tenant": {"id": TENANT}},
        }
        key, _, sub = drop.partition(".")
        if sub:
            del activity[key][sub]
        else:
            del activity[key]
        reply = await w.teams.send(activity)
        assert reply.status == 400
        await w.deliver()
        assert w.connector.calls == []
        assert await count(w, ProcessedDelivery) == 0
        assert await count(w, ConversationRef) == 0
        assert await count(w, Item) == 0
        assert await count(w, Outbox) == 0


async def test_a_large_activity_under_the_cap_is_answered(db_url: str, clock: FixedClock) -> None:
    """Just under the cap (parsed in a worker thread): read, and answered like any other."""
    async with teams_world(db_url, clock) as w:
        reply = await w.teams.say(QUINN, "mine " + "x" * (MAX_BODY - 4096))
        assert reply.status == 200
        assert w.connector.to(QUINN.personal_conversation)
