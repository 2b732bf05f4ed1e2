"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when configured), a runtime
with a controllable clock, the demo org applied, and a local chat to act as anyone.

Set LOOPLINK_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to also run every
database test on PostgreSQL. Each test run creates its own PostgreSQL database (so parallel
runs never collide) and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters.local import LocalChat, LocalSender
from adapters.local.settings import INFO as LOCAL_INFO
from bot.clock import FixedClock
from bot.db.migrate import upgrade
from bot.db.models import Base
from bot.db.session import Database, sync_url
from bot.org_apply import apply_org
from bot.orgfile import load_org
from bot.outbox import Fanout
from bot.runtime import Runtime
from looplink.platforms import infos
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"
PG_URL = os.environ.get("LOOPLINK_TEST_DATABASE_URL")
# Monday 23 November 2026, 08:00 in Chicago.
MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(autouse=True)
def flood_limits_on() -> Iterator[None]:
    """Every test starts with flood protection on, as Looplink does (a test's server may have
    turned it off for its own load)."""
    from bot import limits

    limits.configure(True)
    yield
    limits.configure(True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    assert PG_URL
    admin = create_engine(sync_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"looplink_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as c:
        c.execute(
            text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        )
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    eng = create_engine(sync_url(url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    extra = [
        r[0]
        for r in eng.connect().execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename LIKE 'apscheduler%'"
            )
        )
    ]
    with eng.begin() as c:
        c.execute(text(f"TRUNCATE {', '.join([tables, *extra])} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "looplink.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.close()


@pytest.fixture
async def rt(db: Database, clock: FixedClock) -> Runtime:
    runtime = Runtime(db, clock, Fanout(platforms=()))
    runtime.add_platform(LOCAL_INFO, LocalSender(db, clock))
    return runtime


@pytest.fixture
async def org(rt: Runtime) -> Runtime:
    """The runtime with examples/org.yaml applied."""
    spec = load_org(EXAMPLE_ORG, infos())
    async with rt.db.transaction() as s:
        await apply_org(s, spec)
    return rt


@pytest.fixture
async def chat(org: Runtime) -> LocalChat:
    return LocalChat(org)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API (tests/fakes/slack_api.py): a real HTTP server on a free port."""
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    """The same fake Slack, by the short name the Slack tests use."""
    return fake_slack
