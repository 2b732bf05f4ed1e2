"""The reporter kept in the loop and the practice complete (issue 15): an item's locus and
evidence, the reporter's confirmation ("Got it" / "I still have a question"), a decision's
revisit, a person's choice to mute progress updates, action items' due dates and reminders,
and the meeting self-check and protocol pulse answers.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("locus", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("evidence", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("reporter_ack", sa.String(16), nullable=True))
        batch.add_column(sa.Column("reporter_ack_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("revisited_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("updates_muted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("agenda_items") as batch:
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))
    op.create_table(
        "self_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("round", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("question", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "kind", "round", "person_id", "question"),
    )
    op.create_index("ix_self_checks_team_kind", "self_checks", ["team_id", "kind", "round"])


def downgrade() -> None:
    op.drop_index("ix_self_checks_team_kind", "self_checks")
    op.drop_table("self_checks")
    with op.batch_alter_table("agenda_items") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("due_on")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("updates_muted")
    with op.batch_alter_table("items") as batch:
        for name in ("revisited_at", "reporter_ack_at", "reporter_ack", "evidence", "locus"):
            batch.drop_column(name)
