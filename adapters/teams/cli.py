"""`looplink teams package --app-id ID --out looplink-teams.zip`: the Teams app package."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from adapters.teams.manifest import PackageError, package


def cmd_package(args: argparse.Namespace) -> int:
    try:
        data = package(
            args.app_id,
            name=args.name,
            version=args.version,
            developer=args.developer,
            website_url=args.website_url,
            privacy_url=args.privacy_url,
            terms_url=args.terms_url,
        )
    except PackageError as e:
        print(str(e), file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(
        f"Wrote {out} (manifest.json, color.png, outline.png). Upload it in Teams: Apps -> "
        "Manage your apps -> Upload an app, or in the Teams admin center."
    )
    return 0


def register(subparsers: Any) -> None:
    teams = subparsers.add_parser("teams", help="Microsoft Teams: build the Teams app package")
    sub = teams.add_subparsers(dest="teams_command", required=True)
    p = sub.add_parser(
        "package", help="build the Teams app package (manifest.json + icons) as a zip"
    )
    p.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID)")
    p.add_argument("--out", default="looplink-teams.zip", help="zip file to write")
    p.add_argument("--name", default="Looplink", help="app name shown in Teams (max 30)")
    p.add_argument("--version", default="1.0.0", help="app version; raise it for each upload")
    p.add_argument("--developer", default="Looplink", help="publisher name")
    p.add_argument("--website-url", default="https://looplink.example.org/")
    p.add_argument("--privacy-url", default="https://looplink.example.org/privacy")
    p.add_argument("--terms-url", default="https://looplink.example.org/terms")
    p.set_defaults(func=cmd_package)
