"""`looplink org export` (issue 13): the organisation written back out as a valid org file with
every id that was learnt; export -> validate -> apply gives the same organisation."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import dircache
from bot.db.models import Membership, Person, PlatformId, Setting, Team, Workspace
from bot.db.session import Database
from bot.identity import Caller, Identities
from bot.org_apply import apply_org
from bot.org_export import export_org
from bot.orgfile import parse_org
from bot.runtime import Runtime
from looplink.cli import main
from looplink.platforms import infos


async def _snapshot(db: Database) -> dict[str, Any]:
    """Everything the org file says, as the database holds it (what is active)."""
    async with db.transaction() as s:
        people = (await s.scalars(select(Person).where(Person.active.is_(True)))).all()
        teams = (await s.scalars(select(Team).where(Team.active.is_(True)))).all()
        members = (await s.scalars(select(Membership).where(Membership.active.is_(True)))).all()
        ids = (await s.scalars(select(PlatformId))).all()
        settings = [  # not the directory cache's token (bot/dircache.py): no org file says it
            r for r in (await s.scalars(select(Setting))).all() if r.key != dircache.KEY
        ]
        spaces = (await s.scalars(select(Workspace).where(Workspace.active.is_(True)))).all()
        return {
            "people": sorted((p.id, p.name, p.email, p.language) for p in people),
            "teams": sorted(
                (
                    t.id,
                    t.name,
                    t.level,
                    t.parent_id or "",
                    t.response_days,
                    t.timezone,
                    t.meeting_schedule or "",
                    t.agenda_before_minutes,
                    t.digest_schedule,
                    repr(sorted(t.extra.items())),
                )
                for t in teams
            ),
            "members": sorted((m.team_id, m.person_id, m.role) for m in members),
            "ids": sorted((i.owner_kind, i.owner_id, i.key, i.scope, i.value, i.rank) for i in ids),
            "settings": sorted((s.key, repr(s.value)) for s in settings),
            "workspaces": sorted((w.platform, w.value, w.name) for w in spaces),
        }


async def test_export_validate_apply_gives_the_same_org(
    org: Runtime, tmp_path: Path, sqlite_template: Path
) -> None:
    # learnt since the file was applied: Henry (no Teams id in the file) linked by the
    # roster's email, a channel an admin linked from inside it
    async with org.db.transaction() as s:
        teams = next(i for i in infos() if i.name == "teams")
        tenant = "72f988bf-0000-4000-8000-00000000c0de"
        caller = Caller(
            "teams", (("teams", "29:henry"),), tenant, email="henry.lindqvist@state.example"
        )
        known = await Identities(s).identify(teams, caller)
        assert known is not None and known.linked
        s.add(
            PlatformId(
                owner_kind="team",
                owner_id="oakgrove",
                key="slack",
                scope="T0RIVER",
                platform="slack",
                rank=0,
                value="C0OAK",
                origin="link",
            )
        )
    async with org.db.transaction() as s:
        text = await export_org(s, infos())
    assert "29:henry" in text and "C0OAK" in text and "admins:\n- kaya" in text
    spec = parse_org(text, infos(), "exported.yaml")  # valid
    assert {p.id for p in spec.people} >= {"henry", "kaya"}

    # applying it where it came from changes nothing
    async with org.db.transaction() as s:
        report = await apply_org(s, spec)
    assert report.changes == 0, report.summary()
    # applying it to an empty database gives the same organisation
    fresh_path = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, fresh_path)
    fresh = Database(f"sqlite:///{fresh_path}")
    try:
        async with fresh.transaction() as s:
            await apply_org(s, spec)
        assert await _snapshot(fresh) == await _snapshot(org.db)
        async with fresh.transaction() as s:
            assert await export_org(s, infos()) == text  # a fixed point
    finally:
        await fresh.close()


async def test_export_names_the_workspace_when_there_are_several(org: Runtime) -> None:
    async with org.db.transaction() as s:
        s.add(Workspace(platform="slack", value="T0STATE", name="state-slack", active=True))
        s.add(
            PlatformId(
                owner_kind="person",
                owner_id="grace",
                key="slack",
                scope="T0STATE",
                platform="slack",
                rank=0,
                value="U0GRACE2",
                origin="email",
            )
        )
    async with org.db.transaction() as s:
        text = await export_org(s, infos())
    assert "slack:\n    riverside-slack: U0GRACE\n    state-slack: U0GRACE2" in text
    assert "slack:\n      riverside-slack: C0LINCOLN" in text  # a channel says where too
    parse_org(text, infos())


async def test_cli_export(
    org: Runtime,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LOOPLINK_DATABASE_URL", db_url)
    out = tmp_path / "org.yaml"
    assert await asyncio.to_thread(main, ["org", "export", "-o", str(out)]) == 0
    assert f"Wrote {out}" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["org", "validate", str(out)]) == 0
    assert "OK" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["org", "export"]) == 0
    assert capsys.readouterr().out == out.read_text()
    assert await asyncio.to_thread(main, ["org", "apply"]) == 2
