"""The Slack app manifest: every command, shortcut, event, scope and request URL Looplink uses."""

from __future__ import annotations

from typing import Any

import yaml

from adapters.slack.platform import EVENTS_PATH, REDIRECT_PATH
from adapters.slack.settings import SCOPES

COMMANDS = [
    ("/barrier", "Report a barrier to your team", "[what is getting in the way]"),
    ("/success", "Share a success so it can spread", "[what worked]"),
    ("/kudos", "Recognise a colleague or a team", "@someone for ..."),
    # the same commands in Spanish (issue 17): Slack shows one description to everyone
    ("/barrera", "Reportar una barrera a su equipo", "[lo que está obstaculizando]"),
    ("/exito", "Compartir un éxito para que se difunda", "[lo que funcionó]"),
    ("/reconocer", "Reconocer a un colega o a un equipo", "@alguien por ..."),
    (
        "/looplink",
        "Looplink help, your reports and your team's queue",
        "[status|agenda|digest|mine]",
    ),
]
SHORTCUTS = [
    (
        "Report as barrier",
        "message",
        "report_as_barrier",
        "Turn this message into a barrier report",
    ),
    (
        "Report a barrier",
        "global",
        "report_barrier",
        "Report what gets in the way of your practice",
    ),
    ("Share a success", "global", "share_success", "Share what worked, so it can spread"),
]
BOT_SCOPES = list(SCOPES)
# app_uninstalled and tokens_revoked: a workspace removed Looplink (deliveries there stop)
BOT_EVENTS = ["app_home_opened", "message.im", "app_uninstalled", "tokens_revoked"]


def manifest(url: str | None, name: str = "Looplink", socket_mode: bool = False) -> dict[str, Any]:
    """The manifest; `url` is the public base URL (not needed with Socket Mode)."""
    if not socket_mode and not url:
        raise ValueError("a public base URL is needed unless the app uses Socket Mode")
    request_url = (url or "").rstrip("/") + EVENTS_PATH
    commands = []
    for command, description, hint in COMMANDS:
        entry: dict[str, Any] = {
            "command": command,
            "description": description,
            "usage_hint": hint,
            "should_escape": True,  # mentions arrive as <@U…>, so we can map them to people
        }
        if not socket_mode:
            entry["url"] = request_url
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": BOT_EVENTS}
    oauth: dict[str, Any] = {"scopes": {"bot": BOT_SCOPES}}
    if not socket_mode:  # where Slack sends an installer back (GET /slack/oauth_redirect)
        oauth = {"redirect_urls": [(url or "").rstrip("/") + REDIRECT_PATH], **oauth}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        events = {"request_url": request_url, **events}
        interactivity["request_url"] = request_url
        interactivity["message_menu_options_url"] = request_url
    return {
        "display_information": {
            "name": name,
            "description": "Practice-to-policy feedback loops between linked implementation teams",
            "long_description": (
                "Looplink carries what gets in the way of practice up to the teams who can "
                "change it, tracks every decision against the agreed response time, and brings "
                "the answer back down to every team it passed and to the person who raised it. "
                "Report barriers and successes with /barrier and /success, in a DM, or from any "
                "message with the 'Report as barrier' shortcut."
            ),
            "background_color": "#2d5f4e",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": commands,
            "shortcuts": [
                {"name": n, "type": t, "callback_id": cid, "description": d}
                for n, t, cid, d in SHORTCUTS
            ],
        },
        "oauth_config": oauth,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            # Enterprise Grid: an organisation can install Looplink once for all its workspaces
            "org_deploy_enabled": not socket_mode,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(url: str | None, name: str = "Looplink", socket_mode: bool = False) -> str:
    return yaml.safe_dump(
        manifest(url, name, socket_mode), sort_keys=False, allow_unicode=True, width=100
    )
