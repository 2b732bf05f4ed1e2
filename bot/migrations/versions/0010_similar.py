"""similar barriers: the similarity index, groups of similar items, links between items

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_docs",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("norm", sa.Float(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("indexed_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_similar_docs_group_id", "similar_docs", ["group_id"])
    op.create_table(
        "similar_postings",
        sa.Column("feature", sa.String(length=80), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("feature", "item_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "similar_matches",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("item_id", "other_id"),
    )
    op.create_table(
        "similar_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Text(), nullable=False),
        sa.Column("updated_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "item_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "other_id"),
    )
    op.create_index("ix_item_links_item_id", "item_links", ["item_id"])
    op.create_index("ix_item_links_other_id", "item_links", ["other_id"])


def downgrade() -> None:
    op.drop_index("ix_item_links_other_id", table_name="item_links")
    op.drop_index("ix_item_links_item_id", table_name="item_links")
    op.drop_table("item_links")
    op.drop_table("similar_groups")
    op.drop_table("similar_matches")
    op.drop_table("similar_postings")
    op.drop_index("ix_similar_docs_group_id", table_name="similar_docs")
    op.drop_table("similar_docs")
