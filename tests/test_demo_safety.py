"""The demo organisation is applied only to the demo's own database (issue 15): `looplink demo`
and `looplink chat` on any other database need an explicit --org."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.models import Person
from bot.db.session import Database
from looplink.cli import main
from tests.test_orgfile import GOOD


def _people(url: str) -> int:
    async def count() -> int:
        db = Database(url)
        try:
            async with db.transaction() as s:
                return int(await s.scalar(select(func.count()).select_from(Person)) or 0)
        finally:
            await db.close()

    return asyncio.run(count())


@pytest.mark.parametrize("command", [["demo", "--port", "0"], ["chat", "--as", "carol"]])
def test_demo_and_chat_refuse_to_put_the_demo_org_into_a_real_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(GOOD, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'real.db'}"
    assert main(["org", "apply", str(org), "--database", url]) == 0
    capsys.readouterr()
    assert main([*command, "--database", url]) == 2
    err = capsys.readouterr().err
    assert "demo organisation" in err and "--org" in err, err
    assert _people(url) == 2  # nothing of the demo's was added
