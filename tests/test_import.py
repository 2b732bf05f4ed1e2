"""`looplink import barriers FILE --team TEAM` (CSV and XLSX) and `looplink similar`."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.db.models import AuditEvent, Item, Outbox, SimilarDoc
from bot.db.session import sync_url
from looplink.cli import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "org.yaml"

CSV = """Date reported;What is getting in the way?;Where / when;Driver;Status;Reported by;Response;Colour
2026-09-14;Substitutes are not trained in the new reading curriculum;Every Friday;Training;open;carol;;blue
2026-09-20;Subs don't know how to run the literacy lessons;2nd grade;training;Resolved;alice@example.org;Sub PD set for October;red
2026-09-21;;no summary on this row;Coaching;open;;;
2026-10-01;Bus routes changed and kids miss breakfast;Route 4;Systems intervention;closed;Nobody Known;Talked to transport;
31/31/2026;Coaches are pulled to cover classes;;Coaching;open;;;
2026-10-05;Los suplentes no recibieron capacitación en el programa de lectura;;Training;open;;;
2026-10-06;Substitute teachers were never shown the phonics program;;Training;maybe;;;
"""


def _setup(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "apply", str(EXAMPLE), "--database", db_url]) == 0
    capsys.readouterr()


def _count(db_url: str, model: type) -> int:
    engine = create_engine(sync_url(db_url))
    with Session(engine) as s:
        n = int(s.scalar(select(func.count()).select_from(model)) or 0)
    engine.dispose()
    return n


def test_csv_dry_run_shows_the_mapping_and_every_bad_row(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(db_url, capsys)
    log = tmp_path / "log.csv"
    log.write_text(CSV, encoding="utf-8")
    args = ["import", "barriers", str(log), "--team", "lincoln", "--database", db_url]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"'What is getting in the way\?' +-> summary", out)
    assert "'Date reported'" in out and "-> created_at" in out
    assert "'Colour'" in out and "(not used)" in out
    assert "4 readable row(s), 3 that cannot be read:" in out
    assert "row 4: the summary is empty" in out
    assert "row 6: the date reported '31/31/2026' is not a date" in out
    assert "row 8: status 'maybe' is not open, acknowledged, resolved or declined" in out
    assert _count(db_url, Item) == 0

    assert main(args) == 1  # bad rows: nothing is half-imported
    assert "Nothing was imported: 3 row(s) cannot be read" in capsys.readouterr().err
    assert _count(db_url, Item) == 0

    assert main([*args, "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "Imported 4 item(s) to Lincoln Elementary Implementation Team" in out
    assert "3 row(s) name no person in the org file" in out
    engine = create_engine(sync_url(db_url))
    with Session(engine) as s:
        items = s.scalars(select(Item).order_by(Item.id)).all()
        assert [(i.state, i.driver, i.source) for i in items] == [
            ("new", "training", "import"),
            ("resolved", "training", "import"),
            ("resolved", "systems_intervention", "import"),
            ("new", "training", "import"),
        ]
        assert items[0].reporter_id == "carol" and not items[0].anonymous
        assert items[1].anonymous  # alice@example.org is nobody in the org: the lead stands in
        assert items[1].reporter_id == "alice" and items[1].response == "Sub PD set for October"
        assert items[0].created_at.date().isoformat() == "2026-09-14"
        assert items[0].due_at is not None and items[1].closed_at is not None
        assert s.scalar(select(func.count()).select_from(SimilarDoc)) == 4
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 4
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0  # history: no messages
        groups = s.scalars(select(SimilarDoc.group_id).order_by(SimilarDoc.item_id)).all()
    engine.dispose()
    assert groups[0] is not None and groups[0] == groups[1] == groups[3] != groups[2]


def test_xlsx_with_a_bad_row_imports_nothing_then_everything_readable(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(db_url, capsys)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Fecha", "Descripción", "Detalles", "Impulsor", "Estado", "Anónimo"])
    ws.append([datetime(2026, 9, 1), "El autobús llega tarde todos los días", "Ruta 7",
               "Systems intervention", "abierto", "sí"])  # fmt: skip
    ws.append([datetime(2026, 9, 2), "Los autobuses llegan tarde y los niños pierden la intervención",
               "", "Systems intervention", "abierto", "no"])  # fmt: skip
    ws.append([datetime(2026, 9, 3), "Faltan computadoras", "", "Dragons", "abierto", "no"])
    path = tmp_path / "registro.xlsx"
    wb.save(path)
    args = ["import", "barriers", str(path), "--team", "washington", "--database", db_url]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert re.search(r"'Descripción' +-> summary", captured.out)
    assert "row 4: driver 'Dragons' is not one of: Selection, Training" in captured.out
    assert _count(db_url, Item) == 0
    assert main([*args, "--skip-bad"]) == 0
    assert "Imported 2 item(s)" in capsys.readouterr().out
    engine = create_engine(sync_url(db_url))
    with Session(engine) as s:
        items = s.scalars(select(Item).order_by(Item.id)).all()
        assert [i.anonymous for i in items] == [True, True]  # "sí", and no reporter column
        assert items[0].origin_team_id == "washington"
    engine.dispose()


def test_import_refuses_unusable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text("summary\nx\n")
    assert main(["import", "barriers", str(tmp_path / "a.txt"), "--team", "x", "--dry-run"]) == 1
    assert "only .csv and .xlsx" in capsys.readouterr().err
    (tmp_path / "b.csv").write_text("Colour,Size\nred,3\n")
    assert main(["import", "barriers", str(tmp_path / "b.csv"), "--team", "x", "--dry-run"]) == 1
    assert "no column for the summary" in capsys.readouterr().err
    (tmp_path / "c.xlsx").write_bytes(b"not a zip")
    assert main(["import", "barriers", str(tmp_path / "c.xlsx"), "--team", "x", "--dry-run"]) == 1
    assert "not a readable Excel workbook" in capsys.readouterr().err


def test_similar_item_and_all_clusters(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(db_url, capsys)
    for team, rows in (
        ("lincoln", ["Substitutes are not trained in the new reading curriculum",
                     "Buses arrive late so kids miss breakfast"]),
        ("washington", ["Subs were never shown the literacy lessons",
                        "Copier is broken again"]),
        ("oakgrove", ["Los suplentes no recibieron capacitación en lectura"]),
    ):  # fmt: skip
        log = tmp_path / f"{team}.csv"
        log.write_text("Summary\n" + "\n".join(rows) + "\n", encoding="utf-8")
        assert main(["import", "barriers", str(log), "--team", team, "--database", db_url]) == 0
    capsys.readouterr()
    assert main(["similar", "1", "--database", db_url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("#1 Substitutes are not trained")
    assert "#3 Subs were never shown the literacy lessons" in out and "same cluster" in out
    assert main(["similar", "--all", "--format", "json", "--database", db_url]) == 0
    clusters = json.loads(capsys.readouterr().out)
    subs = [c for c in clusters if 1 in c["items"]]
    assert len(subs) == 1 and sorted(subs[0]["items"]) == [1, 3, 5]
    assert len(subs[0]["teams"]) == 3 and subs[0]["people"] >= 1
    assert all(2 not in c["items"] and 4 not in c["items"] for c in clusters)
    assert main(["similar", "--all", "--database", db_url]) == 0
    out = capsys.readouterr().out
    assert "3 barriers, 3 team(s)" in out and "#1 #3 #5" in out
    assert main(["similar", "99", "--database", db_url]) == 1
    assert "There is no item #99." in capsys.readouterr().err
