"""One loop across both platforms, in one process and one database.

Quinn reports a barrier in Microsoft Teams (Oak Grove) -> Maya escalates in Teams -> Mara
escalates in Teams to the State team, whose channel is in Slack (and Teams) -> Grace resolves
it by pressing the button in Slack -> the answer travels back down to the Millbrook and Oak
Grove channels in Teams and, proactively, to Quinn's personal chat in Teams.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import FakeSlack, SlackUser, block_text, buttons
from tests.fakes.teams_client import MARA, MAYA, MILLBROOK, OAKGROVE, QUINN, STATE
from tests.teams_world import World, teams_world
from tests.test_teams_loop import install_everywhere, item_card, report_with_form, titles

SECRET = "cross-platform-signing-secret"
RESOLUTION = "The state adds screener exports to the data system contract from January."


class _Http:
    """What SlackUser needs from a test client: post(path, ...) against the running server."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base.rstrip("/")

    def post(self, path: str, **kw: Any) -> Any:
        return self.session.post(self.base + path, **kw)


async def _escalate_in_teams(w: World, who: Any, channel: str, iid: int, note: str) -> None:
    card = item_card(w, channel, iid)
    pressed = await w.teams.execute(
        who, action(card.card, "Escalate"), channel=channel, reply_to=card.activity_id
    )
    done = await w.teams.execute(
        who,
        action(pressed.card, "Confirm"),
        {"in_note": note},
        channel=channel,
        reply_to=card.activity_id,
    )
    assert f"#{iid} escalated" in card_text(done.card)
    await w.deliver()


async def test_reported_in_teams_resolved_in_slack_relayed_back_to_teams(
    db_url: str, clock: FixedClock, fake_slack: FakeSlack
) -> None:
    async with teams_world(
        db_url,
        clock,
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        run_scheduler=False,
    ) as w:
        slack_platform = next(p for p in w.server.platforms if isinstance(p, SlackPlatform))
        slack_platform._sender.min_interval = 0
        async with aiohttp.ClientSession() as http:
            base = w.teams.bot_url.removesuffix("/api/messages")
            slack = SlackUser(_Http(http, base), SECRET, fake_slack)  # type: ignore[arg-type]
            await install_everywhere(w)
            iid = await report_with_form(w, QUINN, anonymous=False)
            await w.deliver()
            await _escalate_in_teams(w, MAYA, OAKGROVE, iid, "Needs the district's vendor contract")
            await _escalate_in_teams(
                w, MARA, MILLBROOK, iid, "The data system contract is statewide"
            )

            # the escalation reached the State team's Slack channel with the decision buttons
            posted = [m for (ch, _), m in fake_slack.messages.items() if ch == "C0STATE"]
            assert len(posted) == 1
            assert "decide:resolve" in [b["action_id"] for b in buttons(posted[0]["blocks"])]
            assert "The data system contract is statewide" in block_text(posted[0]["blocks"])
            assert "Resolve here" in titles(item_card(w, STATE, iid).card)  # and in Teams too

            # Grace resolves it from Slack
            status, _ = await slack.click("U0GRACE", "C0STATE", posted[0], "decide:resolve")
            assert status == 200
            await slack_platform.idle()
            view = fake_slack.views[fake_slack.modals[-1]]
            status, body = await slack.submit("U0GRACE", view, {"note": RESOLUTION})
            assert status == 200 and json.loads(body)["response_action"] == "update"
            await slack_platform.idle()
            await w.deliver()

    [item] = await w.items()
    assert (item.state, item.closed_by_team_id, item.source) == ("resolved", "state", "teams")
    assert item.reporter_told_at is not None

    # back down in Teams: both channels it passed, and Quinn's personal chat, proactively
    for channel in (MILLBROOK, OAKGROVE):
        relays = [
            p for p in w.connector.to(channel) if RESOLUTION in p.text() and "resolved" in p.text()
        ]
        assert len(relays) == 1, channel
        assert (
            "Resolved by Grace Okafor on" in item_card(w, channel, iid).text()
        )  # updated in place
    dm = w.connector.to(QUINN.personal_conversation)[-1]
    assert RESOLUTION in dm.text() and "State Implementation Team" in dm.text()
    assert titles(dm.card) == [
        "Worse",
        "No change",
        "Better",
        "Goal met",
        "Got it",
        "I still have a question",
    ]

    # in Slack the card was updated in place, and nobody in Slack got a DM about it
    state_card = next(m for (ch, _), m in fake_slack.messages.items() if ch == "C0STATE")
    assert buttons(state_card["blocks"]) == [] and "Resolved" in block_text(state_card["blocks"])
    assert fake_slack.to("chat.update", channel="C0STATE")
    assert fake_slack.to("conversations.open") == []
