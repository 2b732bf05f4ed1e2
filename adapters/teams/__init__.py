"""The Microsoft Teams adapter: Bot Framework activities in, Adaptive Cards out.

Every `botbuilder` / `botframework` import lives in `platform.py` and `auth.py` only; the other
modules work on the wire format (Activity JSON, Adaptive Card JSON, the connector REST API), so
a move to the Microsoft 365 Agents SDK replaces those two files (see docs/teams.md).

    cards.py      neutral Message / Form -> Adaptive Card JSON; card action data -> neutral
    inbound.py    Teams Activity JSON -> neutral Inbound, conversation references, mentions
    connector.py  a small Bot Connector REST client (post, reply, update, create, members)
    turn.py       one inbound activity: identify, store references, route, render the result
    sender.py     TeamsSender: the outbox's deliveries as proactive cards, updated in place
    auth.py       botbuilder: inbound token validation, outbound tokens     (botbuilder)
    platform.py   TeamsPlatform: POST /api/messages on the shared aiohttp app (botbuilder)
    manifest.py   the Teams app package (manifest.json + generated icons)   cli.py  `looplink teams`
"""

from adapters.teams.contract import TEAMS

__all__ = ["TEAMS"]
