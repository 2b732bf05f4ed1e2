"""`looplink outbox list|retry|discard`: messages the platforms refused, and what to do.

    looplink outbox list [--all]                 parked and failed messages, and what to fix
    looplink outbox retry ID... | --all          try them again now (after fixing the cause)
    looplink outbox discard ID... --reason TEXT  give up on them; the reason is recorded

A running server picks up a retry within a second; nothing needs restarting.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import SystemClock
from bot.db.session import Database
from bot.i18n import ngettext
from bot.outbox_admin import WAITING, Undelivered, discard, retry, undelivered
from bot.platforms import CliContext

T = TypeVar("T")


def register(sub: Any, ctx: CliContext) -> None:
    p = sub.add_parser("outbox", help="messages the platforms refused: list, retry, discard")
    verbs = p.add_subparsers(dest="verb", required=True)
    ls = verbs.add_parser("list", help="parked and failed messages, and what to fix")
    ls.add_argument("--all", action="store_true", help="also those pending and discarded")
    ls.add_argument("--database")
    ls.set_defaults(func=partial(cmd_list, ctx=ctx))
    again = verbs.add_parser("retry", help="try parked or failed messages again now")
    again.add_argument("ids", nargs="*", type=int, metavar="ID")
    again.add_argument("--all", action="store_true", help="every parked and failed message")
    again.add_argument("--database")
    again.set_defaults(func=partial(cmd_retry, ctx=ctx))
    drop = verbs.add_parser("discard", help="give up on parked or failed messages")
    drop.add_argument("ids", nargs="+", type=int, metavar="ID")
    drop.add_argument("--reason", required=True, help="why (recorded with the message)")
    drop.add_argument("--database")
    drop.set_defaults(func=partial(cmd_discard, ctx=ctx))


def _run(
    args: argparse.Namespace, ctx: CliContext, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    settings = ctx.settings(args)  # the environment's, with --database

    async def go() -> T:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as s:
                return await work(s)
        finally:
            await db.close()

    return asyncio.run(go())


def describe(r: Undelivered) -> str:
    where = (
        f"team {r.dest_id} ({r.dest_name})"
        if r.dest_kind == "team"
        else (f"direct message to {r.dest_id} ({r.dest_name})")
    )
    lines = [
        f"#{r.id}  {r.platform}  {where}  {r.status}: {r.status_label}",
        f"    since {r.since:%Y-%m-%d %H:%M} UTC, {ngettext('%(num)d attempt', '%(num)d attempts', r.attempts)}: {r.error or '-'}",
    ]
    if r.fix:
        lines.append(f"    to fix: {r.fix}")
    if r.preview:
        lines.append(f"    message: {r.preview}")
    if r.discard_reason:
        lines.append(f"    discarded: {r.discard_reason}")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    statuses = (*WAITING, "pending", "discarded") if args.all else WAITING
    rows = _run(args, ctx, lambda s: undelivered(s, statuses))
    if not rows:
        print("Nothing is waiting: every message was delivered or is on its way.")
        return 0
    for r in rows:
        print(describe(r))
    waiting = sum(1 for r in rows if r.status in WAITING)
    print(
        ngettext("%(num)d message waits", "%(num)d messages wait", waiting)
        + " for an admin. After fixing the cause: "
        "`looplink outbox retry ID...` (or --all); to give up: "
        "`looplink outbox discard ID... --reason '...'`."
    )
    return 0


def cmd_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.ids and not args.all:
        print("Say which messages (IDs from `looplink outbox list`), or --all.", file=sys.stderr)
        return 2
    ids = None if args.all else args.ids
    done = _run(args, ctx, lambda s: retry(s, ids, SystemClock().now()))
    _report(done, args.ids, "will be tried again within a second by the running server")
    return 0 if done or args.all else 1


def cmd_discard(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.reason.strip():
        print("Say why (--reason): it is recorded with the messages.", file=sys.stderr)
        return 2
    done = _run(args, ctx, lambda s: discard(s, args.ids, args.reason, SystemClock().now()))
    _report(done, args.ids, f"discarded ({args.reason.strip()})")
    return 0 if done else 1


def _report(done: list[int], asked: list[int], what: str) -> None:
    if done:
        print(f"{', '.join(f'#{i}' for i in done)}: {what}.")
    else:
        print("No parked or failed message to act on.")
    missed = sorted(set(asked) - set(done))
    if missed:
        print(
            f"Not parked or failed (already sent, pending or discarded, or unknown): "
            f"{', '.join(f'#{i}' for i in missed)}.",
            file=sys.stderr,
        )
