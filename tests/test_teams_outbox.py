"""Answers in a Teams personal chat are outbox rows: an answer given while the connector fails
arrives when it is back, exactly once, and survives a restart of Looplink (over real HTTP:
the server on an ephemeral port, the fake Bot Framework connector as a real server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.clock import FixedClock
from bot.db.models import Outbox
from looplink.server import Server, build_server
from tests.conftest import EXAMPLE_ORG
from tests.fakes.connector import FakeConnector
from tests.fakes.teams_client import QUINN, TeamsClient
from tests.settings_support import make_settings

HELP = "Report a barrier"  # in the answer to `help`
MINE = "You have not reported anything yet"  # the answer to `mine` for Quinn


@asynccontextmanager
async def looplink(
    db_url: str, clock: FixedClock, connector: FakeConnector
) -> AsyncIterator[tuple[Server, TeamsClient]]:
    """One Looplink process (its background dispatcher stopped: the test drives it)."""
    settings = make_settings(
        database_url=db_url,
        org_file=EXAMPLE_ORG,
        teams_enabled=True,
        teams_service_urls=(connector.url,),  # the fake connector, on its own loopback port
        run_scheduler=False,
    )
    server = await build_server(settings, clock=clock)
    http_server = TestServer(server.app, host="127.0.0.1", port=0)
    await http_server.start_server()
    server.rt.dispatcher.stop()
    try:
        async with aiohttp.ClientSession() as http:
            yield server, TeamsClient(http, str(http_server.make_url("/")), connector.url)
    finally:
        await http_server.close()


def said(connector: FakeConnector, words: str) -> int:
    return sum(words in p.text() for p in connector.to(QUINN.personal_conversation))


async def answers(server: Server) -> list[Outbox]:
    async with server.rt.db.transaction() as s:
        q = select(Outbox).where(Outbox.channel_key == "teams:person:quinn").order_by(Outbox.id)
        return list((await s.scalars(q)).all())


async def test_an_answer_given_during_an_outage_arrives_once(
    db_url: str, clock: FixedClock
) -> None:
    connector = await FakeConnector().start()
    try:
        async with looplink(db_url, clock, connector) as (server, teams):
            connector.fail(500)
            reply = await teams.say(QUINN, "mine")
            assert reply.status == 200  # the turn succeeded: the answer is stored
            assert said(connector, MINE) == 0
            (row,) = await answers(server)
            assert (row.status, row.attempts) == ("pending", 1) and "500" in row.last_error
            assert await server.rt.dispatcher.run_once() == 0  # backing off
            clock.advance(seconds=5)
            assert await server.rt.dispatcher.run_once() == 1  # the connector is back
            assert said(connector, MINE) == 1
            clock.advance(seconds=600)
            assert await server.rt.dispatcher.run_once() == 0
            assert said(connector, MINE) == 1  # once
            assert [r.status for r in await answers(server)] == ["sent"]
    finally:
        await connector.close()


async def test_an_answer_queued_during_an_outage_survives_a_restart(
    db_url: str, clock: FixedClock
) -> None:
    connector = await FakeConnector().start()
    try:
        async with looplink(db_url, clock, connector) as (_server, teams):
            connector.fail(500, times=5)
            assert (await teams.say(QUINN, "help")).status == 200
            assert said(connector, HELP) == 0
        # Looplink restarts while the connector is still failing, then it recovers
        async with looplink(db_url, clock, connector) as (server, _teams):
            clock.advance(seconds=5)
            while connector._failures:  # the new process retries through the outage
                await server.rt.dispatcher.run_once()
                clock.advance(seconds=600)
            assert said(connector, HELP) == 0
            assert await server.rt.dispatcher.run_once() == 1
            assert said(connector, HELP) == 1
            clock.advance(seconds=600)
            await server.rt.dispatcher.run_once()
            assert said(connector, HELP) == 1  # once
            assert [r.status for r in await answers(server)] == ["sent"]
    finally:
        await connector.close()


async def test_every_new_teams_post_carries_its_outbox_id(db_url: str, clock: FixedClock) -> None:
    """The crash marker on Teams (issue 11): each new post's card says which outbox row it is,
    so a post repeated after a crash is recognisable. Teams gives a bot no history to look it
    up in before sending again (docs/delivery.md: what remains)."""
    connector = await FakeConnector().start()
    try:
        async with looplink(db_url, clock, connector) as (server, teams):
            assert (await teams.say(QUINN, "mine")).status == 200
            await server.rt.dispatcher.run_once()
            (row,) = await answers(server)
            assert row.status == "sent"
            posted = connector.to(QUINN.personal_conversation)[-1]
            assert posted.card["metadata"] == {"looplink_outbox": str(row.id)}
            assert MINE in posted.text()
    finally:
        await connector.close()
