"""scheduler: agenda items and the scheduled-send ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:00:00
"""

from alembic import op
import sqlalchemy as sa
import bot.db.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agenda_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=True),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.Column('done_at', bot.db.models.UTCDateTime(), nullable=True),
    sa.Column('done_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['added_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.create_index('ix_agenda_items_team_open', ['team_id', 'done_at'], unique=False)

    op.create_table('scheduled_sends',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=True),
    sa.Column('scheduled_for', bot.db.models.UTCDateTime(), nullable=True),
    sa.Column('sent_at', bot.db.models.UTCDateTime(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('scheduled_sends', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_sends_team_kind', ['team_id', 'kind', 'scheduled_for'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scheduled_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_sends_team_kind')
    op.drop_table('scheduled_sends')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_items_team_open')
    op.drop_table('agenda_items')
