"""The command line: db upgrade, org apply, export; and template overrides."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from adapters.local import LocalChat
from bot.texts import Texts, set_texts, texts
from looplink.cli import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "org.yaml"


def test_db_upgrade_org_apply_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--database", url]) == 0
    assert main(["org", "apply", str(EXAMPLE), "--database", url]) == 0
    out = capsys.readouterr().out
    assert "added" in out and "team lincoln" in out
    assert main(["org", "apply", str(EXAMPLE), "--database", url]) == 0
    assert "No changes" in capsys.readouterr().out
    assert main(["export", "barriers", "--format", "csv", "--database", url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == []


async def test_export_formats(chat: LocalChat) -> None:
    from bot.export import export_items

    await chat.submit("carol", "barrier", {"summary": "Named report", "driver": "coaching"})
    await chat.submit("dev", "barrier", {"summary": "Quiet report", "anonymous": "yes"})
    async with chat.rt.db.transaction() as s:
        data = json.loads(await export_items(s, "json"))
        text = await export_items(s, "csv")
    assert [(r["summary"], r["reporter"], r["anonymous"]) for r in data] == [
        ("Named report", "Carol Jensen", False),
        ("Quiet report", "", True),
    ]
    assert data[0]["path"] == "lincoln"
    assert "Dev Patel" not in text and "Carol Jensen" in text


async def test_templates_can_be_overridden_from_a_folder(chat: LocalChat, tmp_path: Path) -> None:
    (tmp_path / "report_thanks.j2").write_text("Got it, {{ item.kind }} #{{ item.id }} — merci!")
    set_texts(Texts(tmp_path))
    try:
        res = await chat.submit("carol", "barrier", {"summary": "x"})
        assert res.text().startswith("Got it, barrier #1 — merci!")
        assert "Looplink" in texts().render("help")  # others fall back to the defaults
    finally:
        set_texts(Texts())
