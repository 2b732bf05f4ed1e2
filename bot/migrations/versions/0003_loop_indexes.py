"""Composite indexes for per-team loop figures, agendas and digests at scale.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_hops_team_arrived", "hops", ["team_id", "arrived_at"])
    op.create_index("ix_hops_team_item", "hops", ["team_id", "item_id", "left_at"])
    op.create_index("ix_items_holding_state", "items", ["holding_team_id", "state"])
    op.create_index("ix_items_origin_created", "items", ["origin_team_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_items_origin_created", table_name="items")
    op.drop_index("ix_items_holding_state", table_name="items")
    op.drop_index("ix_hops_team_item", table_name="hops")
    op.drop_index("ix_hops_team_arrived", table_name="hops")
