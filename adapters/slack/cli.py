"""`looplink slack manifest --url https://example.org`: print a ready Slack app manifest."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import urlparse

from adapters.slack.manifest import manifest_yaml


def cmd_manifest(args: argparse.Namespace) -> int:
    url = args.url
    if not args.socket_mode:
        parsed = urlparse(url or "")
        if parsed.scheme != "https" or not parsed.netloc:
            print(
                "Give the public https base URL Slack should call, e.g. "
                "--url https://looplink.example.org (or use --socket-mode).",
                file=sys.stderr,
            )
            return 2
    sys.stdout.write(manifest_yaml(url, args.name, args.socket_mode))
    return 0


def register(subparsers: Any) -> None:
    slack = subparsers.add_parser("slack", help="Slack app tools")
    sub = slack.add_subparsers(dest="slack_command", required=True)
    m = sub.add_parser(
        "manifest", help="print a Slack app manifest (YAML) for this Looplink's public URL"
    )
    m.add_argument("--url", help="public base URL, e.g. https://looplink.example.org")
    m.add_argument("--name", default="Looplink", help="the app's name in Slack")
    m.add_argument(
        "--socket-mode",
        action="store_true",
        help="for SLACK_APP_TOKEN (Socket Mode): no request URLs needed",
    )
    m.set_defaults(func=cmd_manifest)
