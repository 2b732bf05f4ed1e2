"""`looplink org sync`'s rules (bot/org_sync.py) with a platform directory of the test's own:
declared places only, nobody already linked there is asked about, an id that is someone's
is never moved, a place that cannot be asked is reported. The real platforms' directories
(Slack users.lookupByEmail, the Teams roster) are exercised in tests/test_rollout.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from bot.db.models import PlatformId, Workspace
from bot.org_sync import Ids, LookupFailed, Place, sync_people
from bot.runtime import Runtime
from looplink.cli import main
from looplink.platforms import infos
from tests.fakes.slack_api import FakeSlack

SLACK = next(i for i in infos() if i.name == "slack")


class Directory:
    info = SLACK

    def __init__(self, users: dict[str, str], places: list[Place], broken: str = "") -> None:
        self.users = users  # email -> user id
        self._places = places
        self.broken = broken
        self.asked: list[str] = []

    async def places(self) -> list[Place]:
        return self._places

    async def lookup(self, place: Place, emails: Sequence[str]) -> dict[str, Ids]:
        if place.value == self.broken:
            raise LookupFailed("invalid_auth")
        self.asked += list(emails)
        return {
            e.lower(): (("slack", self.users[e.lower()]),)
            for e in emails
            if e.lower() in self.users
        }


async def test_sync_rules(org: Runtime) -> None:
    directory = Directory(
        {
            "henry.lindqvist@state.example": "U0HENRY2",  # already linked (the file): not asked
            "mara.quispe@millbrook.example": "U0MARA",  # new: linked
            "nate.oduya@millbrook.example": "U0GRACE",  # Grace's id: never moved
        },
        [Place("T0RIVER", "Riverside"), Place("T0OTHER", "Other"), Place("E0GRID", "Grid")],
        broken="E0GRID",
    )
    async with org.db.transaction() as s:
        s.add(Workspace(platform="slack", value="E0GRID", name="grid", active=True))
    report = await sync_people(org.db, [directory])
    lines = "\n".join(report.lines())
    assert "linked     mara             Slack riverside-slack (T0RIVER): U0MARA" in lines
    assert (
        "not linked nate             Slack riverside-slack (T0RIVER): U0GRACE is already someone else's"
        in lines
    )
    assert "skipped    Slack workspace Other (T0OTHER): not declared" in lines
    assert "failed     Slack grid (E0GRID): invalid_auth" in lines
    assert "henry.lindqvist@state.example" not in directory.asked
    async with org.db.transaction() as s:
        grace = (await s.scalars(select(PlatformId).where(PlatformId.value == "U0GRACE"))).all()
        assert [(g.owner_id, g.origin) for g in grace] == [("grace", "org")]
        mara = await s.get(PlatformId, ("person", "mara", "slack", "T0RIVER"))
        assert mara is not None and (mara.value, mara.origin) == ("U0MARA", "email")
    again = await sync_people(org.db, [directory])
    assert again.linked == [] and again.already > report.already


async def test_cli_sync_without_a_directory(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOOPLINK_DATABASE_URL", db_url)
    assert await asyncio.to_thread(main, ["org", "sync"]) == 1
    assert "No platform that can look people up by email" in capsys.readouterr().out


async def test_cli_sync_in_single_token_mode(
    org: Runtime,
    db_url: str,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SLACK_BOT_TOKEN: the one workspace is the token's (auth.test); a person of the org file
    with no Slack id there is looked up by email with that token."""
    fake_slack.workspaces[fake_slack.token].user("U0MARA", "Mara.Quispe@millbrook.example")
    for k, v in {
        "LOOPLINK_DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": "x" * 32,
        "SLACK_API_URL": fake_slack.api_url,
    }.items():
        monkeypatch.setenv(k, v)
    assert await asyncio.to_thread(main, ["org", "sync"]) == 0
    said = capsys.readouterr().out
    assert "linked     mara             Slack riverside-slack (T0RIVER): U0MARA" in said
    assert [c.token for c in fake_slack.to("users.lookupByEmail")] == [fake_slack.token] * len(
        fake_slack.to("users.lookupByEmail")
    )
    fake_slack.refuse("users.lookupByEmail", status=200, error="invalid_auth")
    async with org.db.transaction() as s:
        row = await s.get(PlatformId, ("person", "mara", "slack", "T0RIVER"))
        assert row is not None
        await s.delete(row)
    assert await asyncio.to_thread(main, ["org", "sync"]) == 0
    assert "failed     Slack riverside-slack (T0RIVER): users.lookupByEmail: invalid_auth" in (
        capsys.readouterr().out
    )
