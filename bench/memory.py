"""Benchmark 4, memory: resident memory of `looplink serve` idle and after 10,000 requests.

    python -m bench.memory                        # SQLite, 10,000 requests (1.5-2 minutes)
    python -m bench.memory --requests 50000 --database postgresql://postgres@127.0.0.1:5432/postgres

`looplink serve` runs as a child process (Slack enabled, examples/org.yaml) with a fake Slack
Web API on loopback. Requests are a mix, sent by 8 concurrent clients: half `/barrier` slash
commands (the modal opens after the ack), a quarter report submissions from the modal (each
stores a report and queues its card) and a quarter direct messages (`mine`, answered by DM
through the outbox).
RSS is read from /proc/PID/status (VmRSS; VmHWM is the peak) at start, after a warm-up and
after each slice of requests, so growth can be told from warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path

from bench.common import (
    Request,
    SlackRequests,
    barrier_view,
    database,
    drive,
    fake_slack,
    machine,
    serve_env,
    table,
    workdir,
)
from tests.fakes.serve import ServeProcess


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def rss(server: ServeProcess) -> list[str]:
    """Resident now, peak resident so far, anonymous (heaps) and file-backed (maps), in MiB."""
    m = server.memory()
    return [mib(m["VmRSS"]), mib(m["VmHWM"]), mib(m["RssAnon"]), mib(m["RssFile"])]


def snapshot(server: ServeProcess, trace: Path | None, n: int) -> tracemalloc.Snapshot | None:
    """The server's Python allocations now (bench/memserve.py writes them on SIGUSR1)."""
    if trace is None:
        return None
    path = Path(f"{trace}.{n}")
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists():
            time.sleep(1.0)  # written in one go by the server; let it finish
            return tracemalloc.Snapshot.load(str(path))
        time.sleep(0.2)
    raise RuntimeError(f"no tracemalloc snapshot from the server at {path}")


def instrumented(
    args: argparse.Namespace, wd: str
) -> tuple[list[str] | None, dict[str, str], Path | None]:
    """The server command and environment for --tracemalloc / --sqlite-cache-kib / --sqlite-mmap."""
    env: dict[str, str] = {}
    trace = Path(wd) / "trace" if args.tracemalloc else None
    if trace is not None:
        env["BENCH_TRACEMALLOC"] = str(trace)
    if args.sqlite_cache_kib is not None:
        env["BENCH_SQLITE_CACHE_KIB"] = str(args.sqlite_cache_kib)
    if args.sqlite_mmap is not None:
        env["BENCH_SQLITE_MMAP"] = str(args.sqlite_mmap)
    return (["-m", "bench.memserve"] if env else None), env, trace


async def run(args: argparse.Namespace) -> int:
    with workdir() as wd, database(args.database, Path(wd)) as db_url:
        async with fake_slack() as fake:
            command, extra, trace = instrumented(args, wd)
            server = ServeProcess({**serve_env(db_url, fake), **extra}, Path(wd) / "looplink.log")
            if command:
                server.args = command
            server.start(timeout=120)
            growth: list[tuple[str, int, int]] = []
            total = 0
            try:
                await asyncio.sleep(args.settle)
                rows = [["started, idle", 0, *rss(server)]]
                view = await barrier_view(fake, server.url)
                make = SlackRequests(fake, view)
                kinds = itertools.cycle([make.command, make.dm, make.submit, make.command])

                def mixed() -> Request:
                    return next(kinds)()

                url = f"{server.url}/slack/events"
                warm = await drive(url, mixed, args.concurrency, 600, 200)
                await asyncio.sleep(args.settle)
                sent = warm.sent
                rows.append(["after warm-up", sent, *rss(server)])
                first = snapshot(server, trace, 1)
                statuses: dict[int, int] = dict(warm.statuses)
                step = max(1, args.requests // args.slices)
                while sent < args.requests:
                    r = await drive(
                        url, mixed, args.concurrency, 600, min(step, args.requests - sent)
                    )
                    sent += r.sent
                    for k, v in r.statuses.items():
                        statuses[k] = statuses.get(k, 0) + v
                    rows.append([f"after {sent} requests", sent, *rss(server)])
                    print(
                        f"  {sent} requests, RSS {mib(server.memory()['VmRSS'])} MiB",
                        file=sys.stderr,
                        flush=True,
                    )
                await asyncio.sleep(args.settle)
                rows.append(["idle again", sent, *rss(server)])
                last = snapshot(server, trace, 2)
                if first is not None and last is not None:
                    diff = last.compare_to(first, "lineno")
                    growth = [(str(d.traceback), d.size_diff, d.count_diff) for d in diff[:15]]
                    total = sum(d.size_diff for d in diff)
            finally:
                server.stop()
    dialect = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
    print(f"\nMemory of looplink serve on {dialect}; machine: {machine()}")
    print(
        f"mixed Slack requests (slash commands, report submissions, DMs), concurrency {args.concurrency}; HTTP statuses {statuses}\n"
    )
    print(table(["when", "requests", "RSS MiB", "peak RSS MiB", "RssAnon", "RssFile"], rows))
    if growth:
        print(
            f"\nPython allocations (tracemalloc), after warm-up -> idle again: {total / 1024:+.1f} KiB in all; largest:"
        )
        for where, size, count in growth:
            print(f"  {size / 1024:+9.1f} KiB {count:+7d} blocks  {where}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", help="sqlite:///FILE or postgresql://... (default: temp SQLite)")
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--slices", type=int, default=5, help="RSS readings during the run (5)")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--settle", type=float, default=2.0, help="idle seconds before readings")
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the server's Python allocations; print the growth after warm-up (slower)",
    )
    p.add_argument("--sqlite-cache-kib", type=int, help="SQLite page cache per connection (KiB)")
    p.add_argument("--sqlite-mmap", type=int, help="SQLite mmap_size in bytes (0: no map)")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
