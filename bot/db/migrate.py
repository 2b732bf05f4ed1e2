"""Run Alembic migrations programmatically (`looplink db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError

from bot.db.problems import DatabaseProblem, explain
from bot.db.session import sync_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the database; a database that cannot be used is a DatabaseProblem."""
    config = alembic_config(url)
    try:
        command.upgrade(config, revision)
    except DBAPIError as e:
        raise explain(url, e) from e
    except DatabaseProblem:
        raise
