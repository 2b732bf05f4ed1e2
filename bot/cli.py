"""The `looplink` command line.

    looplink demo                      start the demo (SQLite, demo org, local playground)
    looplink serve                     serve Slack / Teams / local as configured by the environment
    looplink chat [--as PERSON]        talk to Looplink in the terminal as any org member
    looplink org validate FILE         check an org file; errors name the line and the fix
    looplink org apply FILE            apply it (idempotent; removed entries are deactivated)
    looplink db upgrade                create or migrate the database
    looplink export barriers --format csv|json

Other packages add subcommands by defining `register(subparsers)` in a module listed in
EXTENSIONS (e.g. `looplink slack manifest`, `looplink teams package`, `looplink jobs`).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.export import export_items
from bot.org_apply import apply_org
from bot.orgfile import OrgFileError, load_org
from bot.settings import Settings, SettingsError

EXTENSIONS = ["adapters.slack.cli", "adapters.teams.cli", "scheduler.cli", "adapters.local.cli"]
EXAMPLE_ORG = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
DEMO_DB = "sqlite:///looplink-demo.db"

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    s = Settings.from_env()
    db = getattr(args, "database", None)
    if db:
        from dataclasses import replace

        s = replace(s, database_url=db)
    return s


def cmd_org(args: argparse.Namespace) -> int:
    try:
        spec = load_org(args.file)
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

    async def go() -> str:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as s:
                report = await apply_org(s, spec)
            await after_org_apply(settings, db)
            return report.summary()
        finally:
            await db.close()

    print(asyncio.run(go()))
    return 0


_after_apply: list[Callable[[Settings, Database], object]] = []


def on_org_apply(fn: Callable[[Settings, Database], object]) -> None:
    """Extensions (the scheduler) register work to do after `org apply` (e.g. re-sync jobs)."""
    _after_apply.append(fn)


async def after_org_apply(settings: Settings, db: Database) -> None:
    for fn in _after_apply:
        result = fn(settings, db)
        if asyncio.iscoroutine(result):
            await result


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


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.server import serve

    settings = _settings(args)
    asyncio.run(serve(settings))
    return 0


def demo_settings(args: argparse.Namespace) -> Settings:
    from dataclasses import replace

    base = Settings.from_env()
    return replace(
        base,
        database_url=getattr(args, "database", None)
        or os.environ.get("LOOPLINK_DATABASE_URL")
        or DEMO_DB,
        org_file=Path(getattr(args, "org", None) or base.org_file or EXAMPLE_ORG),
        local_enabled=True,
        demo=True,
        port=base.port if getattr(args, "port", None) is None else args.port,
        host=getattr(args, "host", None) or base.host,
    )


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
    from bot.server import serve

    settings = demo_settings(args)
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
    from adapters.local.terminal import run_terminal_chat

    settings = demo_settings(args)
    return asyncio.run(run_terminal_chat(settings, args.as_person))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="looplink", description="Practice-to-policy feedback loops in Slack and Teams."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="start the demo playground (SQLite + demo org, no Slack or Teams needed)"
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
        "serve", help="serve Slack, Teams and/or local as configured by environment variables"
    )
    serve.add_argument("--database")
    serve.set_defaults(func=cmd_serve)

    org = sub.add_parser("org", help="validate or apply an organisation file")
    org.add_argument("action", choices=["validate", "apply"])
    org.add_argument("file")
    org.add_argument("--database")
    org.set_defaults(func=cmd_org)

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

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue
            raise
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
    except OrgFileError as e:
        print(str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    # `python -m bot.cli` runs this file as __main__; run the one `bot.cli` module instead, so
    # hooks that extensions register with `bot.cli.on_org_apply` are the ones that run.
    from bot import cli

    sys.exit(cli.main())
