"""`looplink agenda|digest TEAM --dry-run` and `looplink jobs`."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Outbox
from bot.db.session import sync_url
from looplink.cli import main
from tests.conftest import EXAMPLE_ORG
from tests.sched_seed import seed_activity


@pytest.fixture
async def seeded(chat: LocalChat, clock: FixedClock) -> str:
    await seed_activity(chat, clock)
    return chat.rt.db.url


def outbox_rows(url: str) -> int:
    engine = create_engine(sync_url(url))
    with engine.connect() as c:
        n = int(c.scalar(select(func.count()).select_from(Outbox)) or 0)
    engine.dispose()
    return n


def test_dry_runs_print_and_send_nothing(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = outbox_rows(seeded)
    at = "2026-11-24T13:00-06:00"
    assert main(["agenda", "lincoln", "--dry-run", "--at", at, "--database", seeded]) == 0
    out = capsys.readouterr().out
    assert out.startswith("To: the Lincoln Elementary Implementation Team channel")
    assert "Standing agenda: Lincoln Elementary Implementation Team — Tue 24 Nov 2026 15:00" in out
    assert "*3. Barriers*" in out and "#1 Reading screener data" in out
    assert main(["digest", "riverside", "--dry-run", "--at", at, "--database", seeded]) == 0
    out = capsys.readouterr().out
    assert out.startswith("To: Dana Whitfield, Bob Tanaka, Ivan Sokolov")
    assert "Weekly digest: Riverside District Implementation Team" in out
    assert outbox_rows(seeded) == before
    assert main(["agenda", "atlantis", "--dry-run", "--database", seeded]) == 1


def test_jobs_lists_next_runs(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "--team", "lincoln", "--database", seeded]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith(("agenda:", "digest:"))]
    assert lines[0].split()[0] == "agenda:lincoln" and "(America/Chicago)" in lines[0]
    assert "120 min before meetings" in lines[0] and lines[0].split()[1] == "Tue"
    assert lines[1].split()[0] == "digest:lincoln" and " 08:00 " in lines[1]
    assert "7 jobs." in out


def test_org_apply_resyncs_the_jobs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "apply", str(EXAMPLE_ORG), "--database", db_url]) == 0
    assert "Scheduled jobs synced: 49 added, 0 moved, 0 removed, 0 unchanged." in (
        capsys.readouterr().out
    )
    assert main(["org", "apply", str(EXAMPLE_ORG), "--database", db_url]) == 0
    assert "0 added, 0 moved, 0 removed, 49 unchanged" in capsys.readouterr().out
    assert main(["jobs", "--database", db_url]) == 0
    out = capsys.readouterr().out
    assert "49 jobs." in out and "No scheduler has run" not in out and "(new)" not in out
