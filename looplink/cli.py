"""The `looplink` command line.

    looplink demo                      start the demo (SQLite, demo org, local playground)
    looplink serve                     serve Slack / Teams / local as configured by the environment
    looplink chat [--as PERSON]        talk to Looplink in the terminal as any org member
    looplink org validate FILE         check an org file; errors name the line and the fix
    looplink org apply FILE            apply it (idempotent; removed entries are deactivated)
    looplink org sync                  link people to their Slack/Teams ids by email
    looplink org export [-o FILE]      the organisation as an org file, with every id learnt
    looplink db upgrade                create or migrate the database
    looplink export barriers --format csv|json
    looplink outbox list|retry|discard messages the platforms refused, and what to fix

The scheduler adds its subcommands (`looplink agenda|digest|jobs`, scheduler/cli.py), similar
barriers theirs (`looplink similar`, `looplink import barriers`, bot/similar/cli.py), and each
registered platform its own (`looplink slack manifest`, `looplink teams package`), both listed
here by name: nothing is loaded by a string.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from adapters.local.settings import INFO as LOCAL_INFO
from adapters.local.settings import LocalSettings
from adapters.local.terminal import run_terminal_chat
from bot import outbox_cli
from bot.db.migrate import upgrade
from bot.db.models import OrgChange, Person
from bot.db.problems import DatabaseProblem, explain
from bot.db.session import Database
from bot.export import export_items
from bot.installations import rotate_all
from bot.netaddr import is_loopback
from bot.org_changes import apply_file, describe, file_digest
from bot.org_export import export_org
from bot.org_sync import sync_people
from bot.orgfile import OrgFileError
from bot.platforms import CliContext, PlatformAdapter
from bot.runtime import Runtime
from bot.secrets import SecretBox, SecretUnreadable
from bot.settings import Settings, SettingsError
from bot.similar import cli as similar_cli
from bot.startup import prepare_database
from looplink.platforms import PLATFORMS, infos, load_org_file, settings_from_env
from looplink.server import enabled_platforms, serve
from scheduler import cli as scheduler_cli

EXAMPLE_ORG = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
DEMO_DB = "sqlite:///looplink-demo.db"

Handler = Callable[[argparse.Namespace], int]


def settings_loader(
    platforms: Sequence[PlatformAdapter] = PLATFORMS,
) -> Callable[[argparse.Namespace], Settings]:
    """Settings from the environment (each of `platforms` reading its own) and --database."""

    def load(args: argparse.Namespace) -> Settings:
        s = settings_from_env(platforms=platforms)
        db = getattr(args, "database", None)
        return replace(s, database_url=db) if db else s

    return load


_settings = settings_loader()


def cmd_org(args: argparse.Namespace, platforms: Sequence[PlatformAdapter] = PLATFORMS) -> int:
    if args.action == "sync":
        return cmd_org_sync(args, platforms)
    if args.action == "export":
        return cmd_org_export(args, platforms)
    if not args.file:
        print(f"looplink org {args.action} needs the org file: looplink org {args.action} FILE")
        return 2
    try:
        spec = load_org_file(args.file, platforms)
    except OrgFileError as e:
        print(str(e), file=sys.stderr)
        print(f"{len(e.problems)} problem(s) found; nothing was applied.", file=sys.stderr)
        return 1
    if args.action == "validate":
        members = sum(len(t.members) for t in spec.teams)
        print(
            f"{args.file}: OK — {len(spec.people)} people, {len(spec.teams)} teams, {members} memberships."
        )
        return 0
    settings = _settings(args)
    upgrade(settings.database_url)
    digest = file_digest(Path(args.file).read_bytes())

    async def go() -> str:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as s:
                done = await apply_file(s, spec, datetime.now(UTC), digest)
            _warn_replaced(done.replaced)
            await scheduler_cli.resync_after_apply(db)
            return done.report.summary()
        finally:
            await db.close()

    print(asyncio.run(go()))
    return 0


def _warn_replaced(replaced: list[OrgChange]) -> None:
    """The org file wins: say which console edits it replaced (docs/org-file.md)."""
    if not replaced:
        return
    print(
        f"Warning: the org file replaced {len(replaced)} edit(s) made in the admin console "
        "since it was last applied (export the organisation first to keep them: "
        "looplink org export):",
        file=sys.stderr,
    )
    for change in replaced:
        print(f"  {describe(change)}", file=sys.stderr)


def cmd_org_sync(args: argparse.Namespace, platforms: Sequence[PlatformAdapter]) -> int:
    """`looplink org sync`: link people to their ids by email where Looplink is installed."""
    settings = settings_loader(platforms)(args)
    upgrade(settings.database_url)

    async def go() -> list[str]:
        db = Database(settings.database_url)
        rt = Runtime(db)
        built = enabled_platforms(settings, rt, platforms)
        try:
            sources = [src for p in built if (src := p.people()) is not None]
            if not sources:
                return []
            return (await sync_people(db, sources)).lines()
        finally:
            for p in built:
                await p.stop()
            await db.close()

    lines = asyncio.run(go())
    if not lines:
        print("No platform that can look people up by email is set up (Slack or Teams).")
        return 1
    print("\n".join(lines))
    return 0


def cmd_org_export(args: argparse.Namespace, platforms: Sequence[PlatformAdapter]) -> int:
    """`looplink org export`: the organisation, with every id learnt, as an org file."""
    settings = settings_loader(platforms)(args)
    upgrade(settings.database_url)

    async def go() -> str:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as s:
                return await export_org(s, infos(platforms))
        finally:
            await db.close()

    out = asyncio.run(go())
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        print(f"Wrote {args.output}")
    else:
        sys.stdout.write(out)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    settings = _settings(args)
    upgrade(settings.database_url)
    print(f"Database is up to date ({settings.database_url.split('@')[-1]}).")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def go() -> str:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as s:
                return await export_items(s, args.format)
        finally:
            await db.close()

    out = asyncio.run(go())
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        print(f"Wrote {args.output}")
    else:
        sys.stdout.write(out)
    return 0


def cmd_secrets(args: argparse.Namespace) -> int:
    """`looplink secrets rotate`: every stored secret re-encrypted with the first key."""
    settings = _settings(args)
    if not settings.secret_keys:
        print(
            "LOOPLINK_SECRET_KEY is not set: put the new key first and the old one after it, "
            "separated by a comma, then run this again.",
            file=sys.stderr,
        )
        return 2
    upgrade(settings.database_url)

    async def go() -> int:
        db = Database(settings.database_url)
        try:
            return await rotate_all(db, SecretBox(settings.secret_keys))
        finally:
            await db.close()

    try:
        n = asyncio.run(go())
    except SecretUnreadable as e:
        print(f"{e}. Nothing was changed.", file=sys.stderr)
        return 1
    print(
        f"Re-encrypted {n} stored secret(s) with the first key of LOOPLINK_SECRET_KEY; the "
        "other keys can now be removed from it."
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    asyncio.run(serve(settings))
    return 0


def demo_settings(args: argparse.Namespace) -> Settings:
    base = settings_from_env().with_platform(LOCAL_INFO.name, LocalSettings())
    return replace(
        base,
        database_url=getattr(args, "database", None)
        or os.environ.get("LOOPLINK_DATABASE_URL")
        or DEMO_DB,
        org_file=Path(getattr(args, "org", None) or base.org_file or EXAMPLE_ORG),
        demo=True,
        port=base.port if getattr(args, "port", None) is None else args.port,
        host=getattr(args, "host", None) or base.host,
    )


def _demo_people() -> set[str]:
    return {p.id for p in load_org_file(EXAMPLE_ORG).people}


async def _foreign_people(url: str) -> int:
    """How many people in the database at `url` are not the demo's (0 for a new database)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    db = Database(url)
    try:
        async with db.transaction() as s:
            ids = set((await s.scalars(select(Person.id))).all())
    except DBAPIError:  # no tables yet (or no database to ask): nothing of anyone's in it
        return 0
    finally:
        await db.close()
    return len(ids - _demo_people())


def demo_org_refused(args: argparse.Namespace, settings: Settings) -> bool:
    """The demo organisation goes only into the demo's own database: a new one, or one that
    holds nobody else. Anything else needs an explicit --org (issue 15: `looplink demo` on a
    real database added 32 demo people and 7 teams and reset its settings)."""
    if getattr(args, "org", None) or settings.org_file != EXAMPLE_ORG:
        return False
    others = asyncio.run(_foreign_people(settings.database_url))
    if not others:
        return False
    print(
        f"Not starting: {settings.database_url} already holds {others} people who are not in "
        "the demo organisation, and the demo would add its own 32 people and 7 teams to it. "
        "Leave --database and LOOPLINK_DATABASE_URL unset to use the demo's own database, "
        "or name the organisation to use with --org FILE.",
        file=sys.stderr,
    )
    return True


def demo_banner(url: str) -> None:
    print(
        f"""
  Looplink demo is running.

    Playground:  {url}
    Dashboard:   {url}dashboard

  Open the playground in your browser, pick who you are (try Carol) and report a barrier.
  Press Ctrl-C to stop.
""",
        flush=True,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    settings = demo_settings(args)
    if not is_loopback(settings.host):
        print(
            f"The demo lets whoever opens it act as anyone, so it only listens on this machine, "
            f"and the host asked for is '{settings.host}'. Leave --host and LOOPLINK_HOST unset "
            "(or use 127.0.0.1); to serve other people, use `looplink serve` with sign-in "
            "(docs/playground.md).",
            file=sys.stderr,
        )
        return 2
    if demo_org_refused(args, settings):
        return 2
    if not getattr(args, "verbose", False):  # keep the playground's address in view
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    print(
        "Looplink demo: database",
        settings.database_url.removeprefix("sqlite:///"),
        "and organisation",
        settings.org_file,
        flush=True,
    )
    try:
        asyncio.run(serve(settings, on_ready=demo_banner))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            print(
                f"Cannot listen on {settings.host}:{settings.port}: {e.strerror}. Is another "
                "Looplink running? Stop it, or choose another port: looplink demo --port 3979",
                file=sys.stderr,
            )
            return 1
        raise
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    settings = demo_settings(args)
    if demo_org_refused(args, settings):
        return 2

    async def go() -> int:
        db = await prepare_database(settings, infos())
        return await run_terminal_chat(db, args.as_person)

    return asyncio.run(go())


def _database_url(args: argparse.Namespace) -> str:
    """The database URL the command used (for naming it in an error)."""
    demo = getattr(args, "func", None) in (cmd_demo, cmd_chat)
    try:
        return (demo_settings(args) if demo else _settings(args)).database_url
    except (SettingsError, OrgFileError):
        return getattr(args, "database", None) or os.environ.get("LOOPLINK_DATABASE_URL", "")


def build_parser(platforms: Sequence[PlatformAdapter] = PLATFORMS) -> argparse.ArgumentParser:
    """The `looplink` command; the scheduler's and each of `platforms`' subcommands too."""
    chats = " and ".join(p.info.label for p in platforms if not p.info.native_ids)
    everything = ", ".join(p.info.label for p in platforms)
    p = argparse.ArgumentParser(
        prog="looplink",
        description=f"Practice-to-policy feedback loops in {chats}.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)
    _add_running(sub, chats, everything)
    _add_data(sub, platforms)
    context = CliContext(settings=settings_loader(platforms), platforms=infos(platforms))
    scheduler_cli.register(sub, context)
    outbox_cli.register(sub, context)
    similar_cli.register(sub, context)
    for platform in platforms:
        platform.add_commands(sub, context)
    return p


def _add_running(sub: Any, chats: str, everything: str) -> None:
    """demo, chat, serve."""
    demo = sub.add_parser(
        "demo", help=f"start the demo playground (SQLite + demo org, no {chats} needed)"
    )
    demo.add_argument("--port", type=int, help="port to listen on (0: any free port)")
    demo.add_argument("--host")
    demo.add_argument("--database", help="database URL (default sqlite:///looplink-demo.db)")
    demo.add_argument("--org", help="org file (default examples/org.yaml)")
    demo.set_defaults(func=cmd_demo)

    chat = sub.add_parser("chat", help="talk to Looplink in this terminal as any org member")
    chat.add_argument(
        "--as", dest="as_person", default="carol", help="person id to start as (default carol)"
    )
    chat.add_argument("--database")
    chat.add_argument("--org")
    chat.set_defaults(func=cmd_chat)

    serve = sub.add_parser(
        "serve", help=f"serve {everything} as configured by environment variables"
    )
    serve.add_argument("--database")
    serve.set_defaults(func=cmd_serve)


def _add_data(sub: Any, platforms: Sequence[PlatformAdapter]) -> None:
    """org, db, export."""
    org = sub.add_parser(
        "org",
        help="validate or apply an organisation file; sync people's ids by email; export it",
    )
    org.add_argument("action", choices=["validate", "apply", "sync", "export"])
    org.add_argument("file", nargs="?", help="the org file (validate, apply)")
    org.add_argument("--output", "-o", help="export: write the org file here (default: stdout)")
    org.add_argument("--database")
    org.set_defaults(func=partial(cmd_org, platforms=platforms))

    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("--database")
    db.set_defaults(func=cmd_db)

    export = sub.add_parser("export", help="export data (anonymous reporters are never exported)")
    export.add_argument("what", choices=["barriers"])
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", "-o")
    export.add_argument("--database")
    export.set_defaults(func=cmd_export)

    secrets_cmd = sub.add_parser("secrets", help="secrets at rest (platform tokens)")
    secrets_cmd.add_argument("action", choices=["rotate"])
    secrets_cmd.add_argument("--database")
    secrets_cmd.set_defaults(func=cmd_secrets)


def main(argv: list[str] | None = None, platforms: Sequence[PlatformAdapter] = PLATFORMS) -> int:
    parser = build_parser(platforms)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except SettingsError as e:
        print(f"Configuration problem: {e}", file=sys.stderr)
        return 2
    except DatabaseProblem as e:
        print(str(e), file=sys.stderr)
        return 1
    except DBAPIError as e:  # the database failed later than the migrations (e.g. locked)
        logging.getLogger("looplink").debug("database error", exc_info=e)
        print(str(explain(_database_url(args), e)), file=sys.stderr)
        return 1
    except OrgFileError as e:
        print(str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
