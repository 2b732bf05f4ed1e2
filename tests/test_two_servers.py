"""Two `looplink serve` processes on one PostgreSQL database: one scheduler, no double posts,
and killing the leader hands the scheduler to the other.

Real processes, real clock: Lincoln's digest is scheduled every minute, so the test waits for
real scheduled minutes (about two to three minutes in all; marked slow).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db.session import sync_url
from tests.conftest import EXAMPLE_ORG, PG_URL, ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="needs LOOPLINK_TEST_DATABASE_URL (PostgreSQL)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database() -> Iterator[str]:
    assert PG_URL
    admin = create_engine(sync_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"looplink_two_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(
            text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        )
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _start(url: str, org: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOOPLINK_DATABASE_URL": url,
        "LOOPLINK_ORG_FILE": str(org),
        "LOOPLINK_LOCAL": "1",
        "LOOPLINK_PORT": str(port),
    }
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "LOOPLINK_TEAMS"):
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "looplink.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.2)
        assert proc.poll() is None, log.read_text()
    raise AssertionError(f"serve did not start:\n{log.read_text()}")


def _wait(what: str, check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _leads(log: Path) -> bool:
    return "this process now runs the scheduler" in log.read_text(errors="replace")


def test_one_scheduler_no_doubles_and_takeover(database: str, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(
        EXAMPLE_ORG.read_text().replace(
            'digest: {schedule: "0 8 * * mon"}', 'digest: {schedule: "* * * * *"}'
        )
    )
    engine = create_engine(sync_url(database))

    def digests() -> list[tuple[str, str]]:
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT dest_id, dedupe_key FROM outbox WHERE dedupe_key LIKE 'digest:lincoln:%' ORDER BY id"
                )
            ).all()
        return [(r[0], r[1]) for r in rows]

    def ledger() -> int:
        with engine.connect() as c:
            return int(
                c.execute(
                    text("SELECT count(*) FROM scheduled_sends WHERE key LIKE 'digest:lincoln:%'")
                ).scalar()
                or 0
            )

    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = []
    try:
        for log in logs:
            procs.append(_start(database, org, log)[0])
        _wait("a leader", lambda: any(_leads(log) for log in logs), 30)
        leaders = [i for i, log in enumerate(logs) if _leads(log)]
        assert len(leaders) == 1, "both processes claim the scheduler"
        leader, other = leaders[0], 1 - leaders[0]

        _wait("a digest run", lambda: ledger() >= 1, 75)
        os.kill(procs[leader].pid, signal.SIGKILL)
        procs[leader].wait(timeout=10)
        runs_before = ledger()
        _wait("takeover", lambda: _leads(logs[other]), 40)
        _wait("a digest run by the new leader", lambda: ledger() > runs_before, 90)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    rows = digests()
    runs = ledger()
    engine.dispose()
    # each scheduled minute produced exactly one digest for each of Lincoln's lead and liaison
    assert len(rows) == len(set(rows)) == 2 * runs, (rows, runs)
    assert {dest for dest, _ in rows} == {"alice", "bob"}
    assert runs >= 2
