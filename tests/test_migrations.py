"""The migrations build exactly the schema the models describe, from one head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from bot.db.migrate import alembic_config
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
