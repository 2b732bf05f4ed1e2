"""Benchmark 3, fan-out: many agenda-sized messages due at once, through the real outbox.

    python -m bench.fanout                              # 2,000 messages to 2,000 channels
    python -m bench.fanout --per-channel 5              # 2,000 messages, 400 channels, 5 each
    python -m bench.fanout --messages 10000 --database postgresql://postgres@127.0.0.1:5432/postgres

The organisation has one team per channel (`channels.slack`). Every message is queued with
`bot.outbox.enqueue` (due now), then the production delivery path runs: `Dispatcher.run_forever`
with the `SlackSender` (one shared aiohttp session, no in-process retries, pacing one post per
second per channel) against a fake Slack Web API on loopback that *enforces* Slack's limit:
one `chat.postMessage` per second per channel, `429` with `Retry-After` beyond it.

Reported: messages delivered (distinct messages Slack accepted), lost (queued, never
accepted), duplicated (accepted more than once), out of order (per channel), 429s Slack had to
answer, and the total time against the minimum the rate limit allows ((N-1) s for N messages
per channel, since each channel's first message may go at once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import create_engine, func, insert, select

from adapters.slack.sender import SlackSender
from adapters.slack.settings import INFO as SLACK
from bench.common import database, fake_slack, machine, table, workdir
from bot.clock import SystemClock
from bot.db.migrate import upgrade
from bot.db.models import Outbox, PlatformId, Setting, Team
from bot.db.session import Database, sync_url
from bot.messages import Button, Message
from bot.outbox import Fanout, enqueue
from bot.runtime import Runtime

MARKER = re.compile(r"\[fanout (t\d+) (\d+)\]")


def agenda(team: str, n: int) -> Message:
    """About the size of a standing-meeting agenda: a title, a dozen lines, a few fields."""
    lines = [
        f"{i}. Item {i}: barrier #{1000 + i} waiting on the district (3 days)" for i in range(12)
    ]
    return Message(
        title=f"Agenda for {team}, meeting {n}",
        text=f"[fanout {team} {n}]\n" + "\n".join(lines),
        fields=(("New", "4"), ("Overdue", "2"), ("Waiting above", "3"), ("Closed", "7")),
        buttons=(Button("Open my queue", "status", ""),),
        footer="Looplink · reply in the thread to add an item",
    )


def seed(url: str, channels: int) -> None:
    upgrade(url)
    engine = create_engine(sync_url(url))
    with engine.begin() as c:
        c.execute(insert(Setting), [{"key": "timezone", "value": "America/Chicago"}])
        c.execute(
            insert(Team),
            [
                {
                    "id": f"t{i}",
                    "name": f"Team {i}",
                    "level": "building",
                    "parent_id": None,
                    "response_days": 5,
                    "timezone": "America/Chicago",
                    "meeting_schedule": None,
                    "agenda_before_minutes": 120,
                    "digest_schedule": "0 8 * * mon",
                    "extra": {},
                    "active": True,
                }
                for i in range(channels)
            ],
        )
        c.execute(insert(PlatformId), [_channel(f"t{i}", f"C{i:06d}") for i in range(channels)])
    engine.dispose()


def _channel(team_id: str, channel: str) -> dict[str, object]:
    return {"owner_kind": "team", "owner_id": team_id, "key": SLACK.name, "platform": SLACK.name,
            "rank": 0, "scope": "", "value": channel}  # fmt: skip


@dataclass
class Outcome:
    total: int
    channels: int
    per_channel: int
    paced: bool
    delivered: int
    lost: int
    duplicated: int
    out_of_order: int
    rate_limited: int
    elapsed: float
    queued: float
    status: dict[str, int]
    dialect: str

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.out_of_order == 0


async def scenario(args: argparse.Namespace, per_channel: int, paced: bool) -> Outcome:
    channels = max(1, args.messages // per_channel)
    total = channels * per_channel
    with workdir() as wd, database(args.database, Path(wd)) as url:
        seed(url, channels)
        async with fake_slack(post_interval=1.0) as fake:
            db = Database(url)
            rt = Runtime(db, SystemClock(), Fanout(platforms=()))
            http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            client = AsyncWebClient(
                token=fake.token, base_url=fake.api_url, retry_handlers=[], session=http
            )
            rt.add_platform(SLACK, SlackSender(client, min_interval=1.0 if paced else 0.0))
            rt.dispatcher.concurrency = args.concurrency
            # queue everything first ("due in the same minute"), in rounds: message k of every
            # channel, then k+1, as a scheduler would queue each team's agenda
            now = rt.clock.now()
            t_queue = time.perf_counter()
            for k in range(per_channel):
                for start in range(0, channels, 500):
                    async with db.transaction() as s:
                        for i in range(start, min(channels, start + 500)):
                            await enqueue(s, rt.fanout, now, "team", f"t{i}", agenda(f"t{i}", k))
            queued = time.perf_counter() - t_queue
            async with db.transaction() as s:
                assert await s.scalar(select(func.count()).select_from(Outbox)) == total

            t0 = time.perf_counter()
            task = asyncio.create_task(rt.dispatcher.run_forever(poll=0.2))
            deadline = t0 + args.timeout
            pending = total
            while time.perf_counter() < deadline:
                async with db.transaction() as s:
                    pending = int(
                        await s.scalar(
                            select(func.count())
                            .select_from(Outbox)
                            .where(Outbox.status == "pending")
                        )
                        or 0
                    )
                if pending == 0:
                    break
                await asyncio.sleep(0.25)
            elapsed = time.perf_counter() - t0
            rt.dispatcher.stop()
            await task
            await http.close()
            async with db.transaction() as s:
                status = dict(
                    (
                        await s.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
                    ).all()
                )
            await db.close()

        accepted: dict[str, list[int]] = defaultdict(list)
        for (channel, _ts), m in fake.messages.items():
            found = MARKER.search(json.dumps(m["blocks"]))
            assert found, m["text"][:200]
            team, n = found.group(1), found.group(2)
            accepted[channel].append(int(n))
            assert f"C{int(team[1:]):06d}" == channel
        delivered = sum(len(set(v)) for v in accepted.values())
        duplicated = sum(len(v) - len(set(v)) for v in accepted.values())
        out_of_order = sum(1 for v in accepted.values() if v != sorted(v))
        return Outcome(
            total,
            channels,
            per_channel,
            paced,
            delivered,
            total - delivered,
            duplicated,
            out_of_order,
            fake.rate_limited,
            elapsed,
            queued,
            status,
            "PostgreSQL" if url.startswith("postgresql") else "SQLite",
        )


async def run(args: argparse.Namespace) -> int:
    scenarios = [(int(n), True) for n in args.per_channel.split(",")]
    if args.unpaced:
        scenarios += [(int(n), False) for n in args.per_channel.split(",") if int(n) > 1]
    results = []
    for per_channel, paced in scenarios:
        r = await scenario(args, per_channel, paced)
        print(
            f"  {r.total} messages, {r.channels} channels x {per_channel}, "
            f"{'paced' if paced else 'unpaced'}: {r.elapsed:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        results.append(r)
    print(f"\nFan-out through the outbox on {results[0].dialect}; machine: {machine()}")
    print(
        f"Dispatcher concurrency {args.concurrency}; the fake Slack allows 1 post/s per channel "
        "(429 + Retry-After beyond it). 'paced': the SlackSender spaces posts to a channel 1 s "
        "apart (production); 'unpaced': it does not, and Slack's 429s do the pacing.\n"
    )
    rows = [
        [
            r.total,
            r.channels,
            r.per_channel,
            "yes" if r.paced else "no",
            r.delivered,
            r.lost,
            r.duplicated,
            r.out_of_order,
            r.rate_limited,
            f"{r.elapsed:.1f}",
            f"{r.per_channel - 1:.0f}",
            f"{r.delivered / r.elapsed:.0f}",
        ]
        for r in results
    ]
    print(
        table(
            [
                "messages",
                "channels",
                "per channel",
                "paced",
                "delivered",
                "lost",
                "duplicated",
                "out of order",
                "429s",
                "time s",
                "minimum s",
                "msg/s",
            ],
            rows,
        )
    )
    ok = all(r.ok for r in results)
    print("\ntargets: lost 0, duplicated 0 (and in order per channel) —", "met" if ok else "MISSED")
    for r in results:
        if not r.ok or set(r.status) != {"sent"}:
            print(f"  outbox rows by status ({r.per_channel}/channel): {r.status}")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument(
        "--per-channel", default="1,5", help="messages per channel, one run each (default 1,5)"
    )
    p.add_argument(
        "--unpaced",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run without the sender's pacing (Slack's 429s pace it)",
    )
    p.add_argument("--database", help="sqlite:///FILE or postgresql://... (default: temp SQLite)")
    p.add_argument("--concurrency", type=int, default=16, help="Dispatcher.concurrency (16)")
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
