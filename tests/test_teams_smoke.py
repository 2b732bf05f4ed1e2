from __future__ import annotations

from bot.clock import FixedClock
from tests.fakes.teams_client import QUINN
from tests.teams_world import teams_world


async def test_help_in_personal_chat(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        r = await w.teams.say(QUINN, "help")
        assert r.status == 200
        posted = w.connector.to(QUINN.personal_conversation)
        assert posted, w.connector.calls
        print(posted[0].text())
        assert "Looplink" in posted[0].text()
