"""The org file wins over the admin console, from the command line and at a server start:
`looplink org apply` replaces the console's edits and lists them; a start with an unchanged
file keeps them; a start with a changed file applies it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.db.models import Team
from bot.db.session import Database
from bot.org_edit import Edit, TeamForm, save_team
from bot.startup import prepare_database
from looplink.cli import main
from looplink.platforms import infos
from tests.settings_support import make_settings

EXAMPLE = Path(__file__).parent.parent / "examples" / "org.yaml"


def console_edit(url: str) -> None:
    async def go() -> None:
        db = Database(url)
        try:
            async with db.transaction() as s:
                ed = Edit(s, infos(), datetime.now(UTC), "kaya")
                form = TeamForm(
                    id="jefferson",
                    name="Jefferson Elementary",
                    parent="riverside",
                    members=[("kofi", "lead")],
                )
                await save_team(ed, form, creating=True)
        finally:
            await db.close()

    asyncio.run(go())


def active(url: str, tid: str) -> bool:
    async def go() -> bool:
        db = Database(url)
        try:
            async with db.transaction() as s:
                team = await s.get(Team, tid)
                return team is not None and team.active
        finally:
            await db.close()

    return asyncio.run(go())


def start(url: str, org: Path) -> None:
    async def go() -> None:
        db = await prepare_database(make_settings(database_url=url, org_file=org), infos())
        await db.close()

    asyncio.run(go())


def test_apply_replaces_console_edits_and_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'wins.db'}"
    assert main(["org", "apply", str(EXAMPLE), "--database", url]) == 0
    console_edit(url)
    start(url, EXAMPLE)  # a restart with the same file keeps the console's edit
    assert active(url, "jefferson")
    capsys.readouterr()
    assert main(["org", "apply", str(EXAMPLE), "--database", url]) == 0
    out = capsys.readouterr()
    assert "Warning: the org file replaced 1 edit(s) made in the admin console" in out.err
    assert "kaya: create team:jefferson (" in out.err
    assert "deactivated 2: team jefferson, member kofi@jefferson" in out.out
    assert not active(url, "jefferson")
    assert main(["org", "apply", str(EXAMPLE), "--database", url]) == 0
    assert "Warning" not in capsys.readouterr().err


def test_a_start_with_a_changed_file_applies_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wins.db'}"
    org = tmp_path / "org.yaml"
    org.write_text(EXAMPLE.read_text())
    start(url, org)
    console_edit(url)
    org.write_text(EXAMPLE.read_text() + "\n# changed\n")
    start(url, org)
    assert not active(url, "jefferson")


def test_console_edits_are_exported_and_the_export_applies_without_replacing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'wins.db'}"
    assert main(["org", "apply", str(EXAMPLE), "--database", url]) == 0
    console_edit(url)
    exported = tmp_path / "exported.yaml"
    assert main(["org", "export", "-o", str(exported), "--database", url]) == 0
    text = exported.read_text()
    block = text[text.index("- id: jefferson") :]
    block = block[: block.index("\n- id:", 1)] if "\n- id:" in block[1:] else block
    assert "parent: riverside" in block and "person: kofi" in block and "role: lead" in block
    capsys.readouterr()
    assert main(["org", "apply", str(exported), "--database", url]) == 0
    out = capsys.readouterr()
    assert "Warning" not in out.err and "No changes" in out.out
    assert active(url, "jefferson")
