"""The migrations build exactly the schema the models describe, from one head, and keep what
is stored: ids move into workspaces (0008) and back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from bot.db.migrate import alembic_config, upgrade
from bot.db.models import Base
from bot.db.session import sync_url


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"renumber your migration after rebasing: heads {heads}"


def _ours(name: str | None, type_: str, parent: object) -> bool:
    """APScheduler keeps its own table in the same database; it is not ours to compare."""
    return not (type_ == "table" and (name or "").startswith("apscheduler"))


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"include_name": _ours})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"a model change without its migration: {diff}"


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text(sql))]
    engine.dispose()
    return rows


def _run(url: str, sql: str) -> None:
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text(sql))
    engine.dispose()


def test_0008_keeps_ids_and_gives_each_identity_one_owner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0007")
    _run(
        url,
        "INSERT INTO people (id, name, language, active) VALUES"
        " ('ann', 'Ann', 'en', 1), ('ben', 'Ben', 'en', 1)",
    )
    _run(
        url,
        "INSERT INTO platform_ids (owner_kind, owner_id, key, platform, rank, scope, value)"
        " VALUES ('person', 'ann', 'slack', 'slack', 0, '', 'U1'),"
        " ('person', 'ben', 'slack', 'slack', 0, '', 'U1'),"
        " ('person', 'ben', 'teams', 'teams', 0, '', '29:ben')",
    )
    upgrade(url)
    assert _rows(
        url, "SELECT owner_id, key, scope, value, origin FROM platform_ids ORDER BY 1, 2"
    ) == [
        ("ann", "slack", "", "U1", "org"),
        ("ben", "teams", "", "29:ben", "org"),
    ]
    # a person may now have one id per key in each workspace
    _run(
        url,
        "INSERT INTO platform_ids (owner_kind, owner_id, key, scope, platform, rank, value, origin)"
        " VALUES ('person', 'ann', 'slack', 'T2', 'slack', 0, 'U9', 'email')",
    )
    assert _rows(url, "SELECT count(*) FROM workspaces") == [(0,)]
    assert _rows(url, "SELECT scope, identity FROM conversation_refs") == []
    command.downgrade(alembic_config(url), "0007")
    assert _rows(url, "SELECT owner_id, key, value FROM platform_ids ORDER BY 1, 2") == [
        ("ann", "slack", "U1"),
        ("ben", "teams", "29:ben"),
    ]
