"""Applying the org file: idempotent; removals deactivate and keep history."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.local import LocalChat
from bot.db.models import Item, Membership, Person, Team
from bot.org_apply import apply_org
from bot.orgfile import load_org, parse_org
from looplink.platforms import infos

EXAMPLE = Path(__file__).parent.parent / "examples" / "org.yaml"


async def test_apply_twice_changes_nothing(chat: LocalChat) -> None:
    spec = load_org(EXAMPLE, infos())
    async with chat.rt.db.transaction() as s:
        report = await apply_org(s, spec)
    assert report.changes == 0, report.summary()
    assert report.summary().startswith("No changes")


async def test_removed_team_and_person_are_deactivated_with_history(chat: LocalChat) -> None:
    await chat.submit("tess", "barrier", {"summary": "No interpreter at family nights"})
    text = EXAMPLE.read_text()
    # Remove Harbor (the team) and tess (a person) from the file.
    start = text.index("  - id: harbor")
    text = text[:start]
    text = text.replace(
        '  - {id: tess, name: Tess Hollis, email: tess.hollis@millbrook.example, teams: "29:tess"}\n',
        "",
    )
    spec = parse_org(text, infos(), "org.yaml")
    async with chat.rt.db.transaction() as s:
        report = await apply_org(s, spec)
    assert "team harbor" in report.deactivated and "person tess" in report.deactivated
    assert "member rosa@harbor" in report.deactivated
    async with chat.rt.db.transaction() as s:
        harbor = await s.get(Team, "harbor")
        tess = await s.get(Person, "tess")
        assert harbor is not None and not harbor.active
        assert tess is not None and not tess.active
        item = (await s.scalars(select(Item))).one()
        assert item.origin_team_id == "harbor"  # history intact
    assert "I don't know you yet" in (await chat.say("tess", "hello")).text()
    # putting them back reactivates them
    async with chat.rt.db.transaction() as s:
        report = await apply_org(s, load_org(EXAMPLE, infos()))
        assert "team harbor" in report.changed
        m = await s.get(Membership, ("harbor", "rosa"))
        assert m is not None and m.active


async def test_changes_are_reported(chat: LocalChat) -> None:
    text = EXAMPLE.read_text().replace(
        "response_days: 3\n    channels: {slack: C0LINCOLN",
        "response_days: 4\n    channels: {slack: C0LINCOLN",
    )
    async with chat.rt.db.transaction() as s:
        report = await apply_org(s, parse_org(text, infos()))
    assert report.changed == ["team lincoln"]
    async with chat.rt.db.transaction() as s:
        team = await s.get(Team, "lincoln")
        assert team is not None and team.response_days == 4
