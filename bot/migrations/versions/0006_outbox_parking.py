"""Outbox rows the platform refused: what to fix, since when, and an admin's discard reason.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("fix", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("parked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("discarded_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("discard_reason", sa.Text(), nullable=False, server_default="")
        )
    # Before this revision a refusal was final ("failed") and never retried; those rows now
    # wait for an admin like any other refused message (`looplink outbox list`).
    op.execute("UPDATE outbox SET parked_at = created_at WHERE status = 'failed'")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("discard_reason")
        batch.drop_column("discarded_at")
        batch.drop_column("parked_at")
        batch.drop_column("fix")
