"""What the benchmarks share: a database to run against, signed Slack requests, a load driver.

The fake Slack Web API (`tests/fakes/slack_api.py`) and the server process helper
(`tests/fakes/serve.py`) are the ones the test suite uses, so the benchmarks measure exactly
what the tests exercise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db.session import is_sqlite, sync_url
from tests.fakes.serve import slack_env as serve_env
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import (
    REPORTERS,
    SECRET,
    Request,
    SlackRequests,
    barrier_view,
    signed_headers,
)

# re-exported for the benchmarks
__all__ = [
    "REPORTERS",
    "SECRET",
    "Request",
    "SlackRequests",
    "barrier_view",
    "serve_env",
    "signed_headers",
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


@contextlib.contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file in `workdir`, or a new database on the PostgreSQL server
    named by `url` (created here and dropped afterwards, so a shared server is left as it was)."""
    if not url or is_sqlite(url):
        path = make_url(url).database if url else None
        yield url if url and path else f"sqlite:///{workdir / 'bench.db'}"
        return
    admin = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    name = f"looplink_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}'"
                )
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="looplink-bench-")


# ---- the load driver -------------------------------------------------------------------


@dataclass
class Result:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # connection errors
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] * 1000

    def late(self, seconds: float = 3.0) -> int:
        """Requests answered after `seconds` (Slack's 3 s), or not answered at all."""
        return sum(1 for x in self.latencies if x > seconds) + (self.sent - self.ok)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")


async def drive(
    url: str,
    make: Callable[[], Request],
    concurrency: int,
    seconds: float,
    max_requests: int,
    warmup: int = 0,
) -> Result:
    """`concurrency` clients send requests back to back (keep-alive) for `seconds` or until
    `max_requests` were sent; the first `warmup` requests are not counted."""
    bodies = [make() for _ in range(max_requests + warmup)]
    todo = iter(bodies)
    result = Result()
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        counted = 0

        async def one(req: Request, record: bool) -> None:
            nonlocal counted
            t0 = time.perf_counter()
            try:
                async with http.post(url, data=req.body, headers=signed_headers(req)) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError):
                if record:
                    result.errors += 1
                return
            if record:
                dt = time.perf_counter() - t0
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 200:
                    result.latencies.append(dt)

        warm = [next(todo) for _ in range(warmup)]
        for i in range(0, len(warm), concurrency):
            await asyncio.gather(*(one(r, False) for r in warm[i : i + concurrency]))

        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal counted
            while time.perf_counter() < deadline:
                req = next(todo, None)
                if req is None:
                    return
                result.sent += 1
                await one(req, True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - start
    return result


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in cells[1:]
    ]
    return "\n".join([line, sep, *body])


@contextlib.asynccontextmanager
async def fake_slack(**kw: Any) -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack(**kw).start()
    try:
        yield fake
    finally:
        await fake.stop()
