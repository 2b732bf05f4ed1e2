"""`looplink similar ITEM`, `looplink similar --all [--format json]`, `looplink import barriers`.

looplink similar 12                   the items most like #12, with their scores
looplink similar --all                regroup every live item, then print each cluster
looplink similar --all --format json  the same as JSON (item ids, teams, a label)
looplink import barriers log.xlsx --team lincoln --dry-run   the mapping and every bad row
looplink import barriers log.csv --team lincoln              import (all rows or none)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.clock import SystemClock
from bot.db.migrate import upgrade
from bot.db.models import Item, SimilarDoc, Team
from bot.db.session import Database
from bot.importer import Plan, UnreadableLog, import_log, read_log
from bot.platforms import CliContext
from bot.settings import Settings
from bot.similar import store, views


def register(sub: Any, context: CliContext) -> None:
    p = sub.add_parser("similar", help="items like one item, or every cluster of similar items")
    p.add_argument("item", nargs="?", help="an item number, e.g. 12 or #12")
    p.add_argument("--all", action="store_true", help="regroup, then print every cluster")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--limit", type=int, default=10, help="items to list for ITEM (default 10)")
    p.add_argument("--database")
    p.set_defaults(func=lambda args: cmd_similar(args, context.settings(args)))
    imp = sub.add_parser("import", help="import an existing barrier log (CSV or XLSX)")
    imp.add_argument("what", choices=["barriers"])
    imp.add_argument("file", help="a .csv or .xlsx file; the first row names the columns")
    imp.add_argument("--team", required=True, help="the team the reports were made to")
    imp.add_argument("--dry-run", action="store_true", help="show the mapping and bad rows")
    imp.add_argument(
        "--skip-bad", action="store_true", help="import the readable rows, leave the bad ones"
    )
    imp.add_argument("--database")
    imp.set_defaults(func=lambda args: cmd_import(args, context.settings(args)))


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    if not args.all and not args.item:
        print("Name an item (looplink similar 12) or use --all.", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    return asyncio.run(_similar(settings.database_url, args))


async def _similar(url: str, args: argparse.Namespace) -> int:
    db = Database(url)
    now = SystemClock().now()
    try:
        if args.all:
            report = await store.rebuild(db, now)
            async with db.transaction() as s:
                found = await views.clusters(s, now, min_teams=1, limit=10_000, kind=None)
            _print_clusters(found, report, args.format)
            return 0
        async with db.transaction() as s:
            try:
                iid = int(str(args.item).lstrip("#"))
            except ValueError:
                print(f"'{args.item}' is not an item number.", file=sys.stderr)
                return 2
            item = await s.get(Item, iid)
            if item is None:
                print(f"There is no item #{iid}.", file=sys.stderr)
                return 1
            matches = await store.similar_to(s, item, limit=args.limit)
            doc = await s.get(SimilarDoc, item.id)
            teams = {t.id: t.name for t in (await s.scalars(_teams())).all()}
            group = doc.group_id if doc else None
            groups = {}
            for m in matches:
                d = await s.get(SimilarDoc, m.item.id)
                groups[m.item.id] = d.group_id if d else None
        _print_matches(item, matches, teams, group, groups, args.format)
        return 0
    finally:
        await db.close()


def _teams() -> Any:
    from sqlalchemy import select

    return select(Team)


def _print_matches(
    item: Item,
    matches: list[store.Match],
    teams: dict[str, str],
    group: int | None,
    groups: dict[int, int | None],
    fmt: str,
) -> None:
    def where(i: Item) -> str:
        return teams.get(i.origin_team_id, i.origin_team_id)

    if fmt == "json":
        out = {
            "item": item.id,
            "similar": [
                {
                    "item": m.item.id,
                    "score": round(m.score, 3),
                    "same_cluster": group is not None and groups.get(m.item.id) == group,
                    "team": where(m.item),
                    "state": m.item.state,
                    "summary": m.item.summary,
                }
                for m in matches
            ],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    print(f"#{item.id} {item.summary[:90]} ({where(item)}, {item.state.replace('_', ' ')})")
    if not matches:
        print("  Nothing similar has been reported.")
    for m in matches:
        same = "  same cluster" if group is not None and groups.get(m.item.id) == group else ""
        print(
            f"  {m.score:.2f}  #{m.item.id} {m.item.summary[:70]} "
            f"({where(m.item)}, {m.item.state.replace('_', ' ')}){same}"
        )


def _print_clusters(found: list[views.ClusterView], report: store.RebuildReport, fmt: str) -> None:
    if fmt == "json":
        out = [
            {
                "cluster": c.group_id,
                "kind": c.kind,
                "label": c.label,
                "items": c.item_ids,
                "teams": [t.name for t in c.teams],
                "people": c.people,
                "drivers": dict(c.drivers),
                "oldest_days": c.oldest_days,
            }
            for c in found
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    print(
        f"{report.loaded} open or recent items regrouped in {report.seconds_cluster:.1f} s "
        f"({report.indexed} newly indexed); {len(found)} cluster(s) of open items:"
    )
    for c in found:
        teams = ", ".join(t.name for t in c.teams)
        ids = " ".join(f"#{i}" for i in c.item_ids)
        print(f"\n{c.label[:90]}")
        print(
            f"  {len(c.items)} {c.kind}s, {len(c.teams)} team(s), {c.people} people, "
            f"oldest {c.oldest_days} days: {ids}"
        )
        print(f"  teams: {teams}")


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        plan = read_log(args.file)
    except UnreadableLog as e:
        print(str(e), file=sys.stderr)
        return 1
    _print_plan(plan)
    if plan.problems and not (args.dry_run or args.skip_bad):
        print(
            f"\nNothing was imported: {len(plan.problems)} row(s) cannot be read. Fix them, "
            "or use --skip-bad to import the other rows.",
            file=sys.stderr,
        )
        return 1
    if args.dry_run:
        print(f"\nDry run: {len(plan.rows)} row(s) would be imported; nothing was changed.")
        return 0
    upgrade(settings.database_url)
    return asyncio.run(_import(settings.database_url, plan, args.team))


def _print_plan(plan: Plan) -> None:
    print(f"{plan.path}: columns")
    for field_, header in plan.columns.items():
        print(f"  {header!r:32} -> {field_}")
    for header in plan.ignored:
        print(f"  {header!r:32} (not used)")
    print(f"{len(plan.rows)} readable row(s), {len(plan.problems)} that cannot be read:")
    for number, problem in plan.problems:
        print(f"  row {number}: {problem}")


async def _import(url: str, plan: Plan, team_id: str) -> int:
    db = Database(url)
    now = SystemClock().now()
    try:
        async with db.transaction() as s:
            team = await s.get(Team, team_id)
            if team is None or not team.active:
                print(f"There is no active team '{team_id}'.", file=sys.stderr)
                return 1
            try:
                result = await import_log(s, plan, team, now)
            except UnreadableLog as e:
                print(str(e), file=sys.stderr)
                return 1
        report = await store.rebuild(db, now)
    finally:
        await db.close()
    first, last = (result.item_ids[0], result.item_ids[-1]) if result.item_ids else (0, 0)
    print(
        f"Imported {len(result.item_ids)} item(s) to {team.name}"
        + (f" (#{first}–#{last})" if result.item_ids else "")
        + f"; {report.groups} cluster(s) of similar items."
    )
    if result.unknown_reporters:
        print(
            f"{result.unknown_reporters} row(s) name no person in the org file: they are "
            "recorded as anonymous, with the team's lead as the reporter of record."
        )
    return 0
