"""A database Looplink cannot use at start is one clear line, never a traceback.

The line names the database (without its password) and says how to fix it: a corrupt or
locked SQLite file, an unreachable PostgreSQL, a URL of a database Looplink does not support.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from looplink.cli import main
from tests.conftest import EXAMPLE_ORG
from tests.fakes.serve import free_port, serve_until_exit

SECRET = "s3cret-pw"


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and SECRET not in err
    return lines[0]


def corrupt(path: Path) -> str:
    path.write_bytes(b"this is not a SQLite database, just some bytes " * 100)
    return f"sqlite:///{path}"


def test_a_corrupt_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = corrupt(tmp_path / "looplink.db")
    assert main(["db", "upgrade", "--database", url]) == 1
    line = one_line(capsys)
    assert str(tmp_path / "looplink.db") in line
    assert "not a SQLite database" in line and "Fix:" in line and "backup" in line


def test_an_unreachable_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://looplink:{SECRET}@127.0.0.1:{port}/looplink"
    assert main(["db", "upgrade", "--database", url]) == 1
    line = one_line(capsys)
    assert f"postgresql://looplink:***@127.0.0.1:{port}/looplink" in line
    assert "Cannot reach PostgreSQL" in line and "Fix:" in line


@pytest.mark.parametrize(
    "url", [f"mysql://looplink:{SECRET}@db.example/looplink", "looplink.db", "sqlite+foo:///x.db"]
)
def test_an_unsupported_url(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "barriers", "--database", url]) == 1
    line = one_line(capsys)
    assert "sqlite:///" in line and "postgresql://" in line
    with pytest.raises(SettingsError) as e:
        Settings.from_env({"LOOPLINK_DATABASE_URL": url})
    assert SECRET not in str(e.value) and "LOOPLINK_DATABASE_URL" in str(e.value)


@pytest.mark.slow
def test_a_locked_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another process holds the file's write lock (another Looplink, a backup tool)."""
    path = tmp_path / "looplink.db"
    url = f"sqlite:///{path}"
    assert main(["db", "upgrade", "--database", url]) == 0
    capsys.readouterr()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["org", "apply", str(EXAMPLE_ORG), "--database", url]) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = one_line(capsys)
    assert str(path) in line and "locked by another process" in line and "Fix:" in line


def test_serve_with_a_corrupt_database_exits_with_one_line(tmp_path: Path) -> None:
    """`looplink serve` as run in production: no traceback, a non-zero exit, the line."""
    proc = serve_until_exit(corrupt(tmp_path / "prod.db"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("The database ") and str(tmp_path / "prod.db") in last
