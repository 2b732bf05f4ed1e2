"""Fault injection: the server killed mid-burst, the database stopped under traffic, Slack
refusing for a while. Whatever happens, a report that was acknowledged exists exactly once,
a retried one is never doubled, and every queued message is delivered once, in order.

The server runs as in production: `looplink serve` in a child process (SIGKILL test), or the
real aiohttp app in this process (the database and Slack outage tests). Everything is on
loopback and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, func, select

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.db.models import AuditEvent, Hop, Item, Outbox, ProcessedDelivery
from bot.db.session import sync_url
from bot.messages import Message
from bot.outbox import enqueue
from flows.router import SORRY
from looplink.server import Server, build_server
from tests.fakes.pg import PrivatePostgres
from tests.fakes.pg import binaries as pg_binaries
from tests.fakes.serve import EXAMPLE_ORG, ServeProcess, slack_env
from tests.fakes.slack_api import FakeSlack, buttons
from tests.fakes.slack_requests import (
    SECRET,
    Request,
    SlackRequests,
    barrier_view,
    signed_headers,
)
from tests.settings_support import make_settings
from tests.slack_harness import slack_settings

MARK = re.compile(r"^(fault-\w+-\d+):")


def reports_by_marker(db_url: str) -> Counter[str]:
    """How many stored reports carry each request's marker (read straight from the database)."""
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as c:
            summaries = c.execute(select(Item.summary)).scalars().all()
    finally:
        engine.dispose()
    return Counter(m.group(1) for s in summaries if (m := MARK.match(s)))


def consistency(db_url: str) -> dict[str, int]:
    """Counts that must agree if no report was half-written: each report has its first hop,
    its 'reported' audit event, its card in the outbox and its processed delivery id."""
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as c:

            def n(q: Any) -> int:
                return int(c.execute(q).scalar_one())

            return {
                "items": n(select(func.count()).select_from(Item)),
                "first hops": n(select(func.count()).select_from(Hop).where(Hop.seq == 0)),
                "reported events": n(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "reported")
                ),
                "cards queued": n(
                    select(func.count(func.distinct(Outbox.update_key))).where(
                        Outbox.update_key.like("item:%"), Outbox.dest_kind == "team"
                    )
                ),
                "submissions recorded": n(
                    select(func.count())
                    .select_from(ProcessedDelivery)
                    .where(ProcessedDelivery.key.like("slack:view:%"))
                ),
            }
    finally:
        engine.dispose()


async def post(
    http: aiohttp.ClientSession, url: str, req: Request, retry: int = 0
) -> tuple[int, str]:
    async with http.post(url, data=req.body, headers=signed_headers(req, retry)) as r:
        return r.status, await r.text()


@pytest.mark.slow
async def test_sigkill_mid_burst_loses_and_doubles_no_report(
    db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    """A burst of report submissions; the server stalls past Slack's timeout (SIGSTOP), comes
    back for a moment, and is killed (SIGKILL). Then it restarts and Slack retries."""
    server = ServeProcess(slack_env(db_url, fake), tmp_path / "serve.log").start()
    try:
        view = await barrier_view(fake, server.url)
        make = SlackRequests(fake, view)
        burst = [make.submit(marker=f"fault-kill-{i}") for i in range(120)]
        url = f"{server.url}/slack/events"
        acked: dict[str, str] = {}
        unanswered: list[Request] = []
        enough = asyncio.Event()
        todo = list(burst)

        async def client(http: aiohttp.ClientSession) -> None:
            while todo:
                req = todo.pop(0)
                if enough.is_set():  # the server is stalled or gone: Slack will retry these
                    unanswered.append(req)
                    continue
                try:
                    status, body = await post(http, url, req)
                except (aiohttp.ClientError, TimeoutError):
                    unanswered.append(req)  # Slack gave up waiting (3 s in Slack, 2 s here)
                    continue
                if status == 200:
                    acked[req.key] = body
                    if len(acked) >= 24:  # enough to stall mid-burst, even on a busy machine
                        enough.set()
                else:
                    unanswered.append(req)

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            clients = [asyncio.create_task(client(http)) for _ in range(8)]
            await asyncio.wait_for(enough.wait(), 120)
            server.pause()  # SIGSTOP: requests in flight now time out on Slack's side
            await asyncio.wait_for(asyncio.gather(*clients), 30)
            server.resume()  # SIGCONT: the stalled requests are processed, nobody waits
            probe = make.submit(marker="fault-kill-999")
            status, body = await post(http, url, probe)  # queued behind the stalled ones
            assert status == 200
            acked[probe.key] = body
        server.kill()  # SIGKILL: no shutdown, no flush
        burst.append(probe)
        assert len(acked) + len(unanswered) == len(burst)
        for body in acked.values():  # an ack is the thank-you view, never an apology
            assert "Thanks" in json.dumps(json.loads(body)["view"])

        stored = reports_by_marker(db_url)
        for key in acked:
            assert stored[key] == 1, key  # acknowledged: stored, exactly once
        assert all(stored[r.key] <= 1 for r in unanswered)
        # some reports were stored although Slack never saw their acknowledgement
        assert sum(stored[r.key] for r in unanswered) >= 1
        assert set(stored) <= {r.key for r in burst}

        # restart; Slack retries every request it has no 200 for (here: every request, with
        # new timestamps and signatures and X-Slack-Retry-Num, as Slack sends retries)
        server.start()
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            answers = await asyncio.gather(*(post(http, url, r, retry=1) for r in burst))
        assert [status for status, _ in answers] == [200] * len(burst)
        assert reports_by_marker(db_url) == Counter({r.key: 1 for r in burst})
        counts = consistency(db_url)
        assert set(counts.values()) == {len(burst)}, counts
    finally:
        server.stop()


# ---- PostgreSQL stopped and started under traffic ---------------------------------------

LEAKS = ("Traceback", "psycopg", "OperationalError", "sqlalchemy", 'File "', "postgres")


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    bindir = pg_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg = PrivatePostgres(bindir).init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


@dataclass
class Answer:
    req: Request
    kind: str
    status: int
    body: str
    after_restart: bool


@pytest.mark.slow
async def test_postgresql_stopped_and_started_under_traffic(
    private_pg: PrivatePostgres, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings(
        database_url=private_pg.url,
        org_file=EXAMPLE_ORG,
        slack_bot_token=fake.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        run_scheduler=False,
        flood_limits=False,  # traffic from a few people, not a flood
    )
    server = await build_server(settings)
    platform = server.platforms[0]
    assert isinstance(platform, SlackPlatform)
    platform._sender.min_interval = 0  # Slack's pacing has its own tests
    async with TestClient(TestServer(server.app)) as client:  # the dispatcher runs as in prod
        view = await barrier_view(fake, str(client.make_url("")).rstrip("/"))
        make = SlackRequests(fake, view)
        answers: list[Answer] = []
        restarted = False
        stop = asyncio.Event()
        seen = {"ok": asyncio.Event(), "failed": asyncio.Event(), "resumed": asyncio.Event()}
        counts = Counter[str]()
        n = itertools.count()

        def clean_failure(a: Answer) -> bool:
            if a.status >= 500:
                return not any(leak in a.body for leak in LEAKS)
            return a.status == 200 and SORRY in a.body

        async def traffic() -> None:
            while not stop.is_set():
                i = next(n)
                kind = ("submit", "dm", "submit", "command")[i % 4]
                if kind == "submit":
                    req = make.submit(marker=f"fault-pg-{i}")
                elif kind == "dm":
                    req = make.dm(text="mine")
                else:
                    req = make.command()
                after = restarted
                resp = await client.post(
                    "/slack/events", data=req.body, headers=signed_headers(req)
                )
                a = Answer(req, kind, resp.status, await resp.text(), after)
                answers.append(a)
                ok = a.status == 200 and SORRY not in a.body
                counts["ok" if ok else "failed"] += 1
                if ok and after:
                    counts["resumed"] += 1
                for name in ("ok", "failed", "resumed"):
                    if counts[name] >= 12:
                        seen[name].set()

        clients = [asyncio.create_task(traffic()) for _ in range(4)]
        await asyncio.wait_for(seen["ok"].wait(), 30)
        await asyncio.to_thread(private_pg.stop, "immediate")  # a crash, mid-transaction
        await asyncio.wait_for(seen["failed"].wait(), 30)
        health = await client.get("/healthz")
        assert health.status == 503
        await asyncio.to_thread(private_pg.start)
        restarted = True
        await asyncio.wait_for(seen["resumed"].wait(), 30)  # no restart of Looplink needed
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), 30)
        assert (await client.get("/healthz")).status == 200

        # every answer was a success or a clean failure: a 5xx (Slack retries) or a polite
        # apology; nothing about the database ever reached a person
        failures = [a for a in answers if not (a.status == 200 and SORRY not in a.body)]
        assert failures and all(clean_failure(a) for a in failures), [
            (a.kind, a.status, a.body[:200]) for a in failures if not clean_failure(a)
        ]
        await platform.idle()
        apologies = [c for c in fake.to("chat.postEphemeral") if SORRY in c.text()]
        assert apologies or any(a.kind == "dm" for a in failures)  # DMs failed cleanly too
        for call in fake.calls:
            assert not any(leak in call.text() for leak in LEAKS), call.text()[:300]

        # Slack retries what got a 5xx; people try again what they were told failed. Replay
        # every request: what went through must not happen twice, the rest now goes through
        for a in answers:
            resp = await client.post(
                "/slack/events", data=a.req.body, headers=signed_headers(a.req, 1)
            )
            assert resp.status == 200 and SORRY not in await resp.text()

        # nothing half-written: every report is whole, and each exactly once
        submits = [a.req.key for a in answers if a.kind == "submit"]
        assert reports_by_marker(private_pg.url) == Counter({k: 1 for k in submits})
        whole = consistency(private_pg.url)
        assert set(whole.values()) == {len(submits)}, whole

        # the outbox, whose rounds failed during the outage, delivers everything, once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            async with server.rt.db.transaction() as s:
                left = await s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.status != "sent")
                )
            if left == 0:
                break
            await asyncio.sleep(0.1)
        assert left == 0
        cards = [c for c in fake.to("chat.postMessage") if c.args["channel"].startswith("C0")]
        assert len(cards) == len(submits)
        dms = [a.req.key for a in answers if a.kind == "dm"]
        async with server.rt.db.transaction() as s:
            answered = set(
                (
                    await s.scalars(
                        select(ProcessedDelivery.key).where(
                            ProcessedDelivery.key.like("slack:event:%")
                        )
                    )
                ).all()
            )
        assert answered == {f"slack:event:{k}" for k in dms}
        replies = [
            c
            for c in fake.to("chat.postMessage")
            if c.args["channel"].startswith("D") and not _offers_a_voice(c.args)
        ]
        assert len(replies) == len(dms)  # one answer per direct message: none lost or doubled
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors  # the outage is in the logs, with its tracebacks; that is where they belong


def _offers_a_voice(args: dict[str, Any]) -> bool:
    """A DM offering a reporter to add their voice to a similar report (not an answer)."""
    return any(b["action_id"].startswith("voice:") for b in buttons(args.get("blocks") or []))


# ---- Slack answers 500 and 429 for a while ----------------------------------------------


@pytest.fixture
async def slack_server(
    db_url: str, clock: FixedClock, fake: FakeSlack
) -> AsyncIterator[tuple[Server, SlackPlatform]]:
    settings = slack_settings(db_url, fake, secret=SECRET)
    server = await build_server(settings, clock=clock)
    server.rt.dispatcher.stop()  # driven by hand, with the clock
    platform = server.platforms[0]
    assert isinstance(platform, SlackPlatform)
    platform._sender.min_interval = 0  # pacing has its own tests
    async with TestClient(TestServer(server.app)):
        yield server, platform


@pytest.mark.slow
async def test_slack_500_and_429_for_a_while_then_everything_once_in_order(
    slack_server: tuple[Server, SlackPlatform], fake: FakeSlack, clock: FixedClock
) -> None:
    """Team channels get posts and in-place edits of a card, people get DMs (which need
    conversations.open first); Slack is down (500), then rate-limits everything (429 with
    Retry-After), then is back but flaky. Afterwards every message has arrived exactly once,
    in the order it was queued, per channel, and every edit landed on its own card."""
    server, _ = slack_server
    rt = server.rt
    teams = {"lincoln": "C0LINCOLN", "washington": "C0WASHINGTON", "riverside": "C0RIVERSIDE"}
    people = {"carol": "U0CAROL", "dev": "U0DEV", "alice": "U0ALICE"}
    queued: dict[str, list[str]] = {}  # destination -> texts in the order they were queued
    async with rt.db.transaction() as s:
        for n in range(6):
            for team in teams:
                key = f"card:{team}" if n in (0, 3, 5) else None  # 3 and 5 edit card 0
                text = f"[{team} {n}]"
                await enqueue(
                    s, rt.fanout, clock.now(), "team", team, Message(text=text), update_key=key
                )
                queued.setdefault(team, []).append(text)
            for person in people:
                if n % 2 == 0:
                    text = f"[{person} {n}]"
                    await enqueue(s, rt.fanout, clock.now(), "person", person, Message(text=text))
                    queued.setdefault(person, []).append(text)
    total = sum(len(v) for v in queued.values())

    methods = ("chat.postMessage", "chat.update", "conversations.open")
    rounds = 0

    async def round_(advance: float) -> int:
        nonlocal rounds
        rounds += 1
        done = await rt.dispatcher.run_once()
        clock.advance(seconds=advance)
        return done

    for m in methods:  # Slack is down...
        fake.outage(m, status=500)
    for _ in range(3):
        assert await round_(5) == 0
    for m in methods:  # ...then rate-limits everything...
        fake.outage(m, status=429, retry_after=7)
    for _ in range(3):
        assert await round_(8) == 0
    for m in methods:  # ...then is back, but flaky for a while
        fake.restore(m)
    for i in range(12):
        fake.refuse("chat.postMessage", status=500 if i % 2 else 429, retry_after=3)
        fake.refuse("chat.update", status=503)
    delivered = 0
    while delivered < total and rounds < 80:
        delivered += await round_(30)
    assert delivered == total
    assert await round_(3600) == 0  # and nothing is ever sent again

    async with rt.db.transaction() as s:
        rows = (await s.scalars(select(Outbox))).all()
    assert len(rows) == total and {r.status for r in rows} == {"sent"}
    refused = [c for c in fake.calls if c.method in methods and not c.ok]
    assert len(refused) > 20  # the outage really was one

    opened = [c for c in fake.calls if c.method == "conversations.open" and c.ok]
    assert sorted(c.args["users"] for c in opened) == sorted(people.values())  # once each
    channel_of = {**teams, **{p: fake.dms[u] for p, u in people.items()}}
    for dest, texts in queued.items():
        channel = channel_of[dest]
        accepted = [
            c
            for c in fake.calls
            if c.method in ("chat.postMessage", "chat.update")
            and c.ok
            and c.args.get("channel") == channel
        ]
        assert [c.args["text"] for c in accepted] == texts, dest  # once each, in order
        if dest in teams:
            card_ts = accepted[0].result["ts"]
            edits = [c for c in accepted if c.method == "chat.update"]
            assert [c.args["text"] for c in edits] == [texts[3], texts[5]]
            assert {c.args["ts"] for c in edits} == {card_ts}  # in place, on the card
            assert fake.messages[(channel, card_ts)]["text"] == texts[5]
