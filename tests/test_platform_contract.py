"""A platform that lives in the tests (tests/pigeon) plugs in with one registration line.

The suite registers pigeon post beside the real platforms, `(*PLATFORMS, PIGEON)`, and the
loop works on it over real HTTP: its settings come from the environment, its ids from the org
file, its events are routed by the core and its messages delivered from the outbox; a card is
edited in place; its `looplink pigeon` command is there. No file outside tests/pigeon knows it.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.clock import FixedClock
from bot.platforms import PlatformAdapter
from looplink.cli import main
from looplink.platforms import PLATFORMS, settings_from_env
from looplink.server import Server, build_server
from tests.pigeon import PIGEON, Loft

REGISTERED: tuple[PlatformAdapter, ...] = (*PLATFORMS, PIGEON)  # the one registration line

ORG = """\
organization: Pigeon Schools
timezone: America/Chicago
people:
  - {id: carol, name: Carol Jensen, pigeon: P-carol}
  - {id: alice, name: Alice Reyes, pigeon: P-alice}
  - {id: dana, name: Dana Brooks, pigeon: P-dana}
teams:
  - id: district
    name: District Team
    level: district
    channels: {pigeon: "#district"}
    members:
      - {person: dana, role: lead}
  - id: lincoln
    name: Lincoln Team
    parent: district
    channels: {pigeon: "#lincoln"}
    members:
      - {person: alice, role: lead}
      - {person: carol}
"""


@dataclass
class Pigeons:
    server: Server
    loft: Loft
    http: aiohttp.ClientSession
    url: str
    n: int = 0

    async def send(self, user: str, kind: str, **event: Any) -> dict[str, Any]:
        self.n += 1
        body = {"id": str(self.n), "user": user, "kind": kind, **event}
        async with self.http.post(f"{self.url}/pigeon/events", json=body) as r:
            assert r.status == 200
            answer: dict[str, Any] = await r.json()
            return answer

    async def deliver(self) -> int:
        return await self.server.rt.dispatcher.run_once()


@pytest.fixture
async def pigeons(db_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Pigeons]:
    org = tmp_path / "org.yaml"
    org.write_text(ORG)
    loft = await Loft().start()
    env = {
        "LOOPLINK_DATABASE_URL": db_url,
        "LOOPLINK_ORG_FILE": str(org),
        "LOOPLINK_SCHEDULER": "off",
        "PIGEON_URL": loft.url,
    }
    settings = settings_from_env(env, platforms=REGISTERED)
    server = await build_server(settings, clock=clock, platforms=REGISTERED)
    http_server = TestServer(server.app, host="127.0.0.1", port=0)
    await http_server.start_server()
    server.rt.dispatcher.stop()  # the test delivers the outbox itself
    async with aiohttp.ClientSession() as http:
        yield Pigeons(server, loft, http, str(http_server.make_url("")).rstrip("/"))
    await http_server.close()
    await loft.stop()


async def test_the_loop_runs_on_a_platform_registered_by_the_suite(pigeons: Pigeons) -> None:
    p = pigeons
    assert [x.info.name for x in p.server.platforms] == ["pigeon"]
    async with p.http.get(f"{p.url}/healthz") as r:
        assert (await r.json())["platforms"] == ["pigeon"]
    answer = await p.send("P-carol", "submit", form="barrier", values={"summary": "Bus is late"})
    assert answer["queued"] is True  # the thank-you is an outbox row, stored with the report
    assert await p.deliver() == 2
    (card,) = p.loft.to("#lincoln")
    assert "Bus is late" in card["text"] and card["kind"] == "team"
    (thanks,) = p.loft.to("P-carol")
    assert "Thanks" in thanks["text"]
    # Alice escalates from the card; Dana (above) resolves; Carol hears back on pigeon post
    answer = await p.send("P-alice", "action", action="decide:escalate", value="1")
    assert answer["form"] == "decide"
    await p.send(
        "P-alice",
        "submit",
        form="decide",
        values={"note": "The district runs the buses"},
        context={"item": "1", "decision": "escalate"},
        channel="#lincoln",
    )
    await p.deliver()
    edited = [d for d in p.loft.to("#lincoln") if d["edit"] is not None]
    assert edited and edited[-1]["edit"] == 0  # Lincoln's card, edited in place
    assert any("Bus is late" in d["text"] for d in p.loft.to("#district"))
    await p.send(
        "P-dana",
        "submit",
        form="decide",
        values={"note": "New route from Monday"},
        context={"item": "1", "decision": "resolve"},
    )
    await p.deliver()
    assert any("New route from Monday" in d["text"] for d in p.loft.to("P-carol"))


async def test_an_unknown_pigeon_user_is_told_politely(pigeons: Pigeons) -> None:
    await pigeons.send("P-stranger", "text", text="hello")
    assert await pigeons.deliver() == 0  # nobody to queue a DM for: the answer is the reply


def test_its_command_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pigeon", "coo"], platforms=REGISTERED) == 0
    assert "coo (not enabled)" in capsys.readouterr().out


def test_its_org_file_keys_are_its_own(tmp_path: Path) -> None:
    from bot.orgfile import OrgFileError
    from looplink.platforms import load_org_file

    path = tmp_path / "org.yaml"
    path.write_text(ORG)
    spec = load_org_file(path, REGISTERED)
    carol = next(x for x in spec.people if x.id == "carol")
    assert [(i.platform, i.value) for i in carol.ids] == [("pigeon", "P-carol")]
    with pytest.raises(OrgFileError, match="unknown channel platform 'pigeon'"):
        load_org_file(path)  # without the registration, `pigeon` is nobody's key
    bad = textwrap.dedent(ORG).replace('{pigeon: "#district"}', "{owl: '#district'}")
    path.write_text(bad)
    with pytest.raises(OrgFileError, match="use 'slack' or 'teams' or 'pigeon'"):
        load_org_file(path, REGISTERED)
