"""Benchmark 6, scale-out: 1, 2 and 4 `looplink serve` replicas on one PostgreSQL.

    python -m bench.scale_out --database postgresql://postgres@127.0.0.1:5432/postgres
    python -m bench.scale_out --replicas 1,2 --seconds 10 --database postgresql://...

For each replica count, a fresh database on the given server, that many `looplink serve`
processes (Slack enabled, the scheduler on in every one of them) and a small round-robin TCP
load balancer in this process on loopback (each client connection goes to the next replica).
Clients submit barrier reports (view_submission, each its own delivery) through the balancer
for `--seconds`; then the outbox is let drain. Checked after each run:

- every report stored once: one item per acknowledged submission, none twice;
- every outgoing message delivered once: each outbox row posted to the fake Slack exactly
  once (posts carry their outbox id in the message metadata), none left pending;
- exactly one scheduler: one process holds the scheduler's leader lock (pg_locks).

`CPU ms/req` is the replicas' own CPU time (user + system, all of them) per acknowledged
report; the projection for an organisation of 50,000 staff at a peak of 100 reports per second
uses it: replicas = 100 x CPU s/report / 0.7 (a replica is one Python process, one core at
most; 70% of it keeps the latency down), rounded up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.ack_path import cpu_seconds
from bench.common import (
    Result,
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
from bot.db.session import sync_url
from scheduler.lock import LOCK_KEY
from tests.fakes.serve import ServeProcess, free_port
from tests.fakes.slack_api import FakeSlack

PEAK_REPORTS = 100  # per second, an organisation of 50,000 staff at its busiest
CORE_SHARE = 0.7


class Balancer:
    """Round-robin TCP proxy: each accepted connection is piped to the next backend."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._next = itertools.cycle(ports)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.connections: Counter[int] = Counter()

    async def start(self) -> Balancer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = next(self._next)
        self.connections[port] += 1
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))


async def _pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            w.close()


@dataclass
class Checks:
    sent: int  # including the warm-up
    acked: int
    items: int
    duplicated_items: int
    outbox_rows: int
    pending: int
    posted_once: int
    posted_twice: int
    leaders: int

    @property
    def ok(self) -> bool:
        return (
            self.acked <= self.items <= self.sent  # the warm-up's reports are stored too
            and self.duplicated_items == 0
            and self.pending == 0
            and self.posted_once == self.outbox_rows
            and self.posted_twice == 0
            and self.leaders == 1
        )


def _check(db_url: str, fake: FakeSlack, result: Result, run: str, warmup: int) -> Checks:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as c:
        items = c.execute(
            text("SELECT summary FROM items WHERE summary LIKE :m"), {"m": f"bench-{run}-%"}
        ).all()
        rows = c.execute(text("SELECT id, status FROM outbox")).all()
        leaders = c.execute(
            text(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = :k"
            ),
            {"k": LOCK_KEY},
        ).scalar()
    engine.dispose()
    markers = Counter(str(s).split(":")[0] for (s,) in items)
    posted: Counter[int] = Counter()
    for call in fake.calls:
        if call.method in ("chat.postMessage", "chat.update") and call.ok:
            meta = call.args.get("metadata")
            payload = meta.get("event_payload") if isinstance(meta, dict) else None
            if isinstance(payload, dict) and "outbox_id" in payload:
                posted[int(payload["outbox_id"])] += 1
    sent = {int(i) for i, status in rows if status == "sent"}
    return Checks(
        sent=result.sent + warmup,
        acked=result.ok,
        items=len(markers),
        duplicated_items=sum(1 for n in markers.values() if n > 1),
        outbox_rows=len(rows),
        pending=sum(1 for _i, status in rows if status == "pending"),
        posted_once=sum(1 for i in sent if posted[i] == 1),
        posted_twice=sum(1 for n in posted.values() if n > 1),
        leaders=int(leaders or 0),
    )


async def _drained(db_url: str, stall: float = 30.0) -> None:
    """Wait until no outbox row is pending, as long as rows keep going out: a channel gets one
    message per dispatch round (Slack's own pace, about one a second per channel), so a run
    that queued 300 messages for one triage channel needs minutes, not a fixed 60 s. Gives up
    after `stall` seconds without one row delivered."""
    engine = create_engine(sync_url(db_url))
    loop = asyncio.get_running_loop()
    try:
        last, moved = -1, loop.time()
        while loop.time() - moved < stall:
            with engine.connect() as c:
                left = c.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
                n = int(left.scalar() or 0)
            if n == 0:
                return
            if n != last:
                last, moved = n, loop.time()
            await asyncio.sleep(0.5)
    finally:
        engine.dispose()


async def one_run(
    args: argparse.Namespace, n: int, wd: Path
) -> tuple[Result, float, Checks, Counter[int]]:
    with database(args.database, wd) as db_url:
        async with fake_slack() as fake:
            env = {**serve_env(db_url, fake), "LOOPLINK_SCHEDULER": "on"}
            replicas = [ServeProcess(env, wd / f"replica{n}-{k}.log") for k in range(n)]
            lb: Balancer | None = None
            try:
                replicas[0].start(timeout=120)  # migrates and applies the org file first
                for r in replicas[1:]:
                    r.start(timeout=120)
                lb = await Balancer([r.port for r in replicas]).start()
                view = await barrier_view(fake, lb.url)
                make = SlackRequests(fake, view)
                await asyncio.sleep(1.0)  # the scheduler's leader election settles
                before = sum(cpu_seconds(r.pid) for r in replicas)
                parts_before = _other_cpu()
                result = await drive(
                    f"{lb.url}/slack/events",
                    make.submit,
                    args.concurrency,
                    args.seconds,
                    args.max,
                    warmup=2 * args.concurrency,
                )
                cpu = sum(cpu_seconds(r.pid) for r in replicas) - before
                parts = _other_cpu(parts_before)
                await _drained(db_url)
                checks = _check(db_url, fake, result, make.run, 2 * args.concurrency)
                done = max(1, result.sent + 2 * args.concurrency)
                per_req = cpu / done
                print(
                    f"  {n} replica(s), CPU ms per report: replicas {1000 * per_req:.1f}, "
                    f"benchmark process (balancer, clients, fake Slack) "
                    f"{1000 * parts['bench'] / done:.1f}, PostgreSQL (every backend on the "
                    f"machine) {1000 * parts['postgres'] / done:.1f}; {os.cpu_count()} cores",
                    file=sys.stderr,
                    flush=True,
                )
                return result, per_req, checks, lb.connections
            finally:
                if lb is not None:
                    await lb.stop()
                for r in replicas:
                    r.stop()


def _postgres_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if (d / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(d.name))
    return pids


def _other_cpu(before: dict[str, Any] | None = None) -> dict[str, Any]:
    """CPU seconds of the parts that share the machine with the replicas: this process (the
    balancer, the clients and the fake Slack) and PostgreSQL (its processes alive at the end)."""
    pg = {}
    for pid in _postgres_pids():
        with contextlib.suppress(OSError):
            pg[pid] = cpu_seconds(pid)
    now = {"bench": cpu_seconds(os.getpid()), "pg": pg}
    if before is None:
        return now
    return {
        "bench": now["bench"] - before["bench"],
        # a backend started during the run counts whole; one that ended during it is missed
        "postgres": sum(v - before["pg"].get(k, 0.0) for k, v in pg.items()),
    }


async def run(args: argparse.Namespace) -> int:
    counts = [int(c) for c in args.replicas.split(",")]
    rows = []
    results: dict[int, tuple[Result, float, Checks]] = {}
    with workdir() as wd:
        for n in counts:
            r, cpu, checks, conns = await one_run(args, n, Path(wd))
            results[n] = (r, cpu, checks)
            print(
                f"  {n} replica(s): {r.throughput:.0f} reports/s, p99 {r.pct(99):.1f} ms, "
                f"checks {'ok' if checks.ok else 'FAILED'} {checks}; connections {dict(conns)}",
                file=sys.stderr,
                flush=True,
            )
            rows.append(
                [
                    n,
                    r.ok,
                    f"{r.throughput:.0f}",
                    f"{r.pct(50):.1f}",
                    f"{r.pct(99):.1f}",
                    f"{cpu * 1000:.1f}",
                    f"{checks.items}/{checks.acked}+{checks.sent - r.sent}",
                    checks.duplicated_items,
                    f"{checks.posted_once}/{checks.outbox_rows}",
                    checks.posted_twice + checks.pending,
                    checks.leaders,
                ]
            )
    print(f"\nScale-out — replicas of looplink serve on one PostgreSQL; machine: {machine()}")
    print(
        f"report submissions, {args.concurrency} clients through a round-robin TCP balancer "
        f"(in the benchmark's process), {args.seconds:g} s per run\n"
    )
    headers = ["replicas", "reports", "reports/s", "p50 ms", "p99 ms", "CPU ms/report",
               "stored/acked+warm-up", "stored twice", "posted once/outbox", "lost or doubled",
               "schedulers"]  # fmt: skip
    print(table(headers, rows))
    failed = any(not c.ok for _r, _c, c in results.values())
    if 1 in results and 2 in results and results[1][0].throughput:
        ratio = results[2][0].throughput / results[1][0].throughput
        print(f"\n2 replicas / 1 replica: {ratio:.2f}x (target >= 1.6x)")
    cpu = statistics_cpu(results)
    need = math.ceil(PEAK_REPORTS * cpu / CORE_SHARE)
    print(
        f"Projection: {PEAK_REPORTS} reports/s x {cpu * 1000:.1f} ms CPU/report = "
        f"{PEAK_REPORTS * cpu:.1f} cores; at {CORE_SHARE:.0%} of a core each: {need} replica(s) "
        "(plus PostgreSQL's own CPU, not counted)"
    )
    return 1 if failed and args.strict else 0


def statistics_cpu(results: dict[int, tuple[Result, float, Checks]]) -> float:
    """The lowest measured CPU per report (the least disturbed run) across replica counts."""
    return min(cpu for _r, cpu, _c in results.values())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", required=True, help="postgresql://... (a server to create on)")
    p.add_argument("--replicas", default="1,2,4", help="comma-separated (default 1,2,4)")
    p.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--max", type=int, default=20000, help="at most this many requests per run")
    p.add_argument("--strict", action="store_true", help="exit 1 if a check fails")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
