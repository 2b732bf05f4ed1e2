"""SQL statements per acknowledged request on the ack path, counted in process (issue 18).

    python -m bench.statements                 # SQLite, 100 commands and 100 submissions
    python -m bench.statements --database postgresql://postgres@127.0.0.1:5432/postgres

The real server app (Slack enabled, examples/org.yaml, flood limits off as in the other
benchmarks) gets signed requests through the real Bolt app (aiohttp's test client, the fake
Slack Web API on loopback), one at a time; every statement the engine runs is counted
(`before_cursor_execute`), including the outbox's delivery after the ack. Transaction
control (BEGIN, SAVEPOINT, RELEASE, COMMIT) is counted apart: on SQLite it is the group
commit's bookkeeping, not a read or a write.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.common import database, machine, table, workdir
from bot.clock import FixedClock
from bot.db.migrate import upgrade
from bot.db.session import transaction_control
from tests.conftest import MONDAY
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import BARRIER, Slack, running_slack

Send = Callable[[int], Awaitable[Any]]


async def count(
    slack: Slack, n: int, send: Send, prepare: Send | None = None
) -> tuple[float, float]:
    """Statements per request (data, transaction control), outbox delivery included;
    `prepare` (not counted) runs before each request."""
    seen = [0, 0]
    on = [False]

    def note(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        if on[0]:
            seen[1 if transaction_control(sql) else 0] += 1

    engine = slack.server.rt.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        for k in range(n):
            if prepare is not None:
                await prepare(k)
                await slack.settle()
            on[0] = True
            await send(k)
            await slack.settle()
            on[0] = False
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen[0] / n, seen[1] / n


async def run(args: argparse.Namespace) -> int:
    rows = []
    with workdir() as wd, database(args.database, Path(wd)) as url:
        upgrade(url)
        fake = await FakeSlack().start()
        try:
            async with running_slack(url, FixedClock(MONDAY), fake, flood_limits=False) as slack:
                await slack.user.command("U0CAROL", "/barrier", "warm-up")
                await slack.settle()

                async def command(k: int) -> None:
                    status, _ = await slack.user.command("U0CAROL", "/barrier", f"screener {k}")
                    assert status == 200

                async def submit(k: int) -> None:  # the modal the command before opened
                    values = {**BARRIER, "summary": f"{BARRIER['summary']} ({k})"}
                    status, body = await slack.user.submit("U0CAROL", slack.last_view(), values)
                    assert status == 200 and "Thanks" in body, body

                data, control = await count(slack, args.requests, command)
                rows.append(["/barrier command", args.requests, f"{data:.1f}", f"{control:.1f}"])
                data, control = await count(slack, args.requests, submit, prepare=command)
                rows.append(["report submission", args.requests, f"{data:.1f}", f"{control:.1f}"])
        finally:
            await fake.stop()
    dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"SQL statements per request on {dialect}; machine: {machine()}\n")
    print(table(["request", "sent", "statements", "transaction control"], rows))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", help="sqlite:///FILE or postgresql://... (default: temp SQLite)")
    p.add_argument("--requests", type=int, default=100)
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
