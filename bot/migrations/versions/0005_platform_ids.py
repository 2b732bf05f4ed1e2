"""Platform ids in one table: people's user ids and teams' channel ids on any platform.

The platform-named columns (people.slack_id, teams_id, teams_aad_id; teams.slack_channel,
teams_channel) move to `platform_ids` rows keyed by the org-file key they came from, so a new
platform needs no column of its own.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, column, owner kind, platform, org-file key, rank)
MOVED = [
    ("people", "slack_id", "person", "slack", "slack", 0),
    ("people", "teams_id", "person", "teams", "teams", 0),
    ("people", "teams_aad_id", "person", "teams", "teams_aad", 1),
    ("teams", "slack_channel", "team", "slack", "slack", 0),
    ("teams", "teams_channel", "team", "teams", "teams", 0),
]
LENGTHS = {"slack_id": 64, "teams_id": 200, "teams_aad_id": 64, "slack_channel": 64}


def upgrade() -> None:
    op.create_table(
        "platform_ids",
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner_id", "key"),
    )
    op.create_index(
        "ix_platform_ids_lookup", "platform_ids", ["platform", "value", "owner_kind"]
    )
    for table, column, kind, platform, key, rank in MOVED:
        op.execute(
            sa.text(
                "INSERT INTO platform_ids (owner_kind, owner_id, key, platform, rank, scope, value)"
                f" SELECT :kind, id, :key, :platform, :rank, '', {column} FROM {table}"
                f" WHERE {column} IS NOT NULL AND {column} <> ''"
            ).bindparams(kind=kind, key=key, platform=platform, rank=rank)
        )
    with op.batch_alter_table("people") as batch:
        for column in ("slack_id", "teams_id", "teams_aad_id"):
            batch.drop_index(f"ix_people_{column}")
            batch.drop_column(column)
    with op.batch_alter_table("teams") as batch:
        for column in ("slack_channel", "teams_channel"):
            batch.drop_index(f"ix_teams_{column}")
            batch.drop_column(column)


def downgrade() -> None:
    for table, column, *_ in MOVED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.String(length=LENGTHS.get(column, 200))))
            batch.create_index(f"ix_{table}_{column}", [column])
    for table, column, kind, _platform, key, _rank in MOVED:
        op.execute(
            sa.text(
                f"UPDATE {table} SET {column} = (SELECT value FROM platform_ids"
                f" WHERE owner_kind = :kind AND owner_id = {table}.id AND key = :key)"
            ).bindparams(kind=kind, key=key)
        )
    op.drop_index("ix_platform_ids_lookup", table_name="platform_ids")
    op.drop_table("platform_ids")
