"""web sessions: random, stored (hashed), expiring, revocable browser sign-ins

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", bot.db.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_principal", ["principal"], unique=False)
        batch_op.create_index("ix_web_sessions_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_expires_at")
        batch_op.drop_index("ix_web_sessions_principal")
    op.drop_table("web_sessions")
