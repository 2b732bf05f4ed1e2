"""Benchmark 1, the ack path: how fast `looplink serve` acknowledges Slack, against the floor.

    python -m bench.ack_path                      # SQLite, 4 s per cell (about 1.5 minutes)
    python -m bench.ack_path --seconds 10 --database postgresql://postgres@127.0.0.1:5432/postgres

Two servers run as child processes, each one process, as in production, with a fake Slack Web
API on loopback: `looplink serve` (Slack enabled, examples/org.yaml, SQLite file or a fresh
PostgreSQL database created and dropped on the given server) and a bare Bolt app whose
handlers only ack (`bench/bare_bolt.py`, the framework floor). For each workload and
concurrency, the same kind of signed requests go to both, one after the other, in this run:

- `/barrier` slash command: Looplink records the delivery (one transaction) and acks; the
  modal is opened (views.open) after the ack.
- view_submission of the barrier modal: Looplink stores the report, its audit event and its
  outbox row in one transaction, then acks with the thank-you view.

Latency is measured by the client from sending the request to reading the whole answer.
`CPU ms/req` is the server process's own CPU time (user + system) per request in the cell.
Targets (issue 18): p99 under 100 ms at concurrency 32; throughput at least 0.5x the bare app's
for the command and 0.3x for the submission; at concurrency 128, no request answered after
Slack's 3 s (`late`: answered later or not at all).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from pathlib import Path

from bench.common import (
    SECRET,
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
from tests.fakes.serve import ServeProcess

TICK = os.sysconf("SC_CLK_TCK")
RATIO_TARGET = {"command": 0.5, "submit": 0.3}  # of the bare Bolt app's throughput


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


async def cell(
    server: ServeProcess,
    make: SlackRequests,
    kind: str,
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> tuple[Result, float]:
    factory = make.command if kind == "command" else make.submit
    before = cpu_seconds(server.pid)
    result = await drive(
        f"{server.url}/slack/events",
        factory,
        concurrency,
        seconds,
        max_requests,
        warmup=2 * concurrency,
    )
    # let work started after the acks (views.open) finish so it is counted in this cell
    await asyncio.sleep(0.3)
    cpu = cpu_seconds(server.pid) - before
    return result, cpu / max(1, result.sent + 2 * concurrency)


async def run(args: argparse.Namespace) -> int:
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    kinds = args.workloads.split(",")
    with workdir() as wd, database(args.database, Path(wd)) as db_url:
        async with fake_slack() as fake:
            looplink = ServeProcess(serve_env(db_url, fake), Path(wd) / "looplink.log")
            if args.profile:  # cProfile writes its file when the server stops (Ctrl-C)
                looplink.args = [
                    "-m",
                    "cProfile",
                    "-o",
                    args.profile,
                    "-m",
                    "looplink.cli",
                    "serve",
                ]
            bare = ServeProcess(
                {
                    "SLACK_BOT_TOKEN": fake.token,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": fake.api_url,
                },
                Path(wd) / "bare.log",
                args=["-m", "bench.bare_bolt"],
            )
            looplink.start(timeout=120)  # a busy machine, or cProfile, starts slowly
            bare.start(timeout=120)
            try:
                view = await barrier_view(fake, looplink.url)
                make = SlackRequests(fake, view)
                rows = []
                summary: dict[tuple[str, int], dict[str, Result]] = {}
                for kind in kinds:
                    for c in concurrencies:
                        for name, server in (("bare Bolt", bare), ("Looplink", looplink)):
                            r, cpu = await cell(server, make, kind, c, args.seconds, args.max)
                            summary.setdefault((kind, c), {})[name] = r
                            bad = r.sent - r.ok
                            rows.append(
                                [
                                    kind,
                                    c,
                                    name,
                                    r.sent,
                                    f"{r.throughput:.0f}",
                                    f"{r.pct(50):.1f}",
                                    f"{r.pct(99):.1f}",
                                    f"{max(r.latencies, default=math.nan) * 1000:.1f}",
                                    f"{cpu * 1000:.2f}",
                                    bad,
                                    r.late(),
                                ]
                            )
                            print(
                                f"  {kind:8} c={c:<3} {name:10} {r.throughput:7.0f} req/s  "
                                f"p50 {r.pct(50):6.1f} ms  p99 {r.pct(99):6.1f} ms",
                                file=sys.stderr,
                                flush=True,
                            )
                mem = looplink.memory()
            finally:
                looplink.stop()
                bare.stop()
    dialect = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
    print(f"\nAck path — Looplink on {dialect} vs a bare Bolt app; machine: {machine()}")
    print(
        f"{args.seconds:g} s per cell after a warm-up; Looplink RSS at the end {mem['VmRSS'] / 1024:.0f} MiB\n"
    )
    print(
        table(
            [
                "workload",
                "conc.",
                "app",
                "requests",
                "req/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "CPU ms/req",
                "non-200",
                "late (>3 s)",
            ],
            rows,
        )
    )
    print()
    failed = False
    for (kind, c), by in summary.items():
        ll, floor = by["Looplink"], by["bare Bolt"]
        ratio = ll.throughput / floor.throughput if floor.throughput else 0.0
        want = RATIO_TARGET[kind]
        if c == 32:
            p99_ok, ratio_ok = ll.pct(99) < 100, ratio >= want
            failed |= not (p99_ok and ratio_ok)
            print(
                f"{kind} at concurrency {c}: p99 {ll.pct(99):.1f} ms "
                f"({'met' if p99_ok else 'MISSED'}: < 100 ms); throughput {ratio:.2f}x the bare "
                f"app ({'met' if ratio_ok else 'MISSED'}: >= {want}x)"
            )
        if c == 128:
            late_ok = ll.late() == 0
            failed |= not late_ok
            print(
                f"{kind} at concurrency {c}: {ll.late()} of {ll.sent} answered after 3 s or not "
                f"at all ({'met' if late_ok else 'MISSED'}: none); p99 {ll.pct(99):.1f} ms, "
                f"throughput {ratio:.2f}x the bare app"
            )
    return 1 if failed and args.strict else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--database", help="sqlite:///FILE or postgresql://... (default: a temp SQLite file)"
    )
    p.add_argument("--seconds", type=float, default=4.0, help="measured seconds per cell")
    p.add_argument("--max", type=int, default=4000, help="at most this many requests per cell")
    p.add_argument(
        "--concurrency", default="1,8,32,128", help="comma-separated (default 1,8,32,128)"
    )
    p.add_argument("--workloads", default="command,submit", help="command,submit")
    p.add_argument("--profile", metavar="FILE", help="run Looplink under cProfile, stats to FILE")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
