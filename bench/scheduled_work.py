"""Benchmark 2: build every team's weekly digest and standing agenda on a large organisation.

    python -m bench.scheduled_work --database sqlite:///bench-scale.db --scale 1.0
    python -m bench.scheduled_work --database postgresql://postgres@127.0.0.1:5432/bench --scale 1.0

Seeds the organisation with bench.seed_scale (2,000 teams, 50,000 people, 500,000 items and
5,000,000 audit events at scale 1.0) unless --no-seed, then builds every team's digest and
agenda (as the scheduler's jobs do, without sending), counting SQL statements.

By default the builds share one batch per minute, as scheduled jobs do (bot/content/batch.py:
every team's sections in grouped statements); `--alone` builds each team on its own (how
everything was built before issue 18, and how "run now" still builds one team).

Targets (issue 18): every digest and agenda in under 20 s; the statements of a batch
independent of the number of teams (compare the totals here with a run at a smaller --scale).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bench.seed_scale import NOW, seed
from bot.content.agenda import build_agenda
from bot.content.batch import SharedSections
from bot.content.digest import build_digest
from bot.db.migrate import upgrade
from bot.db.models import Item, Team
from bot.db.session import Database
from bot.metrics import SharedStats


class StatementCounter:
    def __init__(self, db: Database) -> None:
        self.n = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.n += 1


async def run(url: str, concurrency: int, alone: bool = False) -> dict[str, Any]:
    db = Database(url)
    counter = StatementCounter(db)
    async with db.transaction() as s:
        teams = list((await s.scalars(select(Team).order_by(Team.id))).all())
        n_items = int(await s.scalar(select(func.count()).select_from(Item)) or 0)
    results: dict[str, Any] = {"teams": len(teams), "items": n_items}
    # As the scheduler runs them: jobs due together share all teams' loop figures.
    shared = SharedStats()
    batch = None if alone else SharedSections()
    for name, build in (("digest", build_digest), ("agenda", build_agenda)):
        per_team: list[int] = []
        slowest: list[float] = []
        sem = asyncio.Semaphore(concurrency)

        async def one(
            team: Team,
            build: Any = build,
            sem: asyncio.Semaphore = sem,
            per_team: list[int] = per_team,
            slowest: list[float] = slowest,
        ) -> None:
            async with sem, db.transaction() as s:
                before, t = counter.n, time.perf_counter()
                await build(s, team, NOW, shared=shared, batch=batch)
                per_team.append(counter.n - before)
                slowest.append(time.perf_counter() - t)

        counter.n = 0
        t0 = time.perf_counter()
        if concurrency == 1:
            for team in teams:
                await one(team)
        else:
            await asyncio.gather(*(one(t) for t in teams))
        elapsed = time.perf_counter() - t0
        results[name] = {
            "seconds": round(elapsed, 2),
            "per_team_ms": round(1000 * elapsed / max(1, len(teams)), 2),
            "statements_min": min(per_team) if concurrency == 1 else None,
            "statements_max": max(per_team) if concurrency == 1 else None,
            "statements_median": statistics.median(per_team) if concurrency == 1 else None,
            "statements_total": counter.n,
            "slowest_s": round(max(slowest, default=0.0), 2),
            "rest_ms": round(
                1000 * (sum(slowest) - max(slowest, default=0.0)) / max(1, len(slowest) - 1), 2
            ),
        }
    await db.close()
    return results


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", default="sqlite:///bench-scale.db")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--no-seed", action="store_true", help="reuse an already seeded database")
    p.add_argument("--alone", action="store_true", help="build each team alone (no batch)")
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="builds in flight at once (1 = sequential, exact per-build counts)",
    )
    args = p.parse_args()
    if make_url(args.database).get_backend_name() == "postgresql" and not args.no_seed:
        _ensure_pg_database(args.database)
    if not args.no_seed:
        t0 = time.perf_counter()
        counts = seed(args.database, args.scale)
        print(f"seeded {counts} in {time.perf_counter() - t0:.0f} s")
    if args.no_seed:
        upgrade(args.database)  # a database seeded by an older checkout gets the new columns
    r = asyncio.run(run(args.database, args.concurrency, args.alone))
    backend = make_url(args.database).get_backend_name()
    how = "each team alone" if args.alone else "one shared batch per minute (as scheduled)"
    print(f"\n{backend}: {r['teams']} teams, {r['items']} items; {how}")
    print(
        f"{'build':8} {'total s':>8} {'ms/team':>8} {'SQL/team (min/median/max)':>28} "
        f"{'slowest s':>10} {'others ms':>10}"
    )
    for name in ("digest", "agenda"):
        x = r[name]
        spread = (
            f"{x['statements_min']}/{x['statements_median']}/{x['statements_max']}"
            if x["statements_min"] is not None
            else "-"
        )
        print(
            f"{name:8} {x['seconds']:>8} {x['per_team_ms']:>8} {spread:>28} "
            f"{x['slowest_s']:>10} {x['rest_ms']:>10}"
        )
    total = r["digest"]["seconds"] + r["agenda"]["seconds"]
    statements = r["digest"]["statements_total"] + r["agenda"]["statements_total"]
    print(f"all digests and agendas: {total:.1f} s (target < 20 s), {statements} SQL statements")


def _ensure_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    from bot.db.session import sync_url

    u = make_url(url)
    admin = create_engine(
        sync_url(u.set(database="postgres").render_as_string(hide_password=False)),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as c:
        exists = c.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}
        ).first()
        if not exists:
            c.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
