"""A person who changes their Slack language later reads Looplink in it (issue 17): Slack does
not tell apps about it, so App Home (which the person opens themselves) reads it again, at
most once a day per person, after the Home is shown; the router keeps it as their platform's
language, which counts only when neither they nor the org file chose one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.db.models import Person
from tests.fakes.slack_api import FakeSlack, block_text
from tests.slack_harness import Slack, running_slack


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


async def home_texts(slack: Slack, user: str) -> list[str]:
    slack.fake.clear()
    assert (await slack.user.open_home(user))[0] == 200
    await slack.settle()
    return [block_text(c.args["view"]["blocks"]) for c in slack.fake.to("views.publish")]


async def test_a_changed_slack_language_is_read_again_from_app_home(slack: Slack) -> None:
    ws = slack.fake.workspaces[slack.fake.token]
    ws.user("U0CAROL", "carol.jensen@riverside.example", "Carol Jensen", locale="en-US")
    [english] = await home_texts(slack, "U0CAROL")
    assert "Report a barrier" in english

    ws.user("U0CAROL", "carol.jensen@riverside.example", "Carol Jensen", locale="es-MX")
    again = await home_texts(slack, "U0CAROL")  # read at most once a day: not yet
    assert len(again) == 1 and "Report a barrier" in again[0]
    assert "users.info" not in slack.fake.methods()

    slack.platform.bot.locale_refresh = 0.0  # a day later
    shown = await home_texts(slack, "U0CAROL")
    assert "users.info" in slack.fake.methods()
    assert "Report a barrier" in shown[0] and "Reportar una barrera" in shown[-1], shown
    async with slack.server.rt.db.transaction() as s:
        carol = await s.get(Person, "carol")
        assert carol is not None and carol.platform_locale == "es"
