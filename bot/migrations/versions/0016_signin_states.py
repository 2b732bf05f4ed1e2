"""signin_states: web sign-ins in progress at an OpenID Connect provider (issue 14)

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("browser", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("next", sa.Text(), nullable=False),
        sa.Column("expires_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    with op.batch_alter_table("signin_states", schema=None) as batch_op:
        batch_op.create_index("ix_signin_states_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signin_states", schema=None) as batch_op:
        batch_op.drop_index("ix_signin_states_expires_at")
    op.drop_table("signin_states")
