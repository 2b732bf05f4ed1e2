"""org changes: who changed the organisation, when and what (admin console, org file applies)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=140), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_org_changes_at", "org_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_org_changes_at", table_name="org_changes")
    op.drop_table("org_changes")
