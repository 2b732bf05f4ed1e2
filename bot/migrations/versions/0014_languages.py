"""languages: a team's language, a person's chosen language and platform locale, the
language a report was written in (issue 17)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as t:
        t.add_column(sa.Column("language", sa.String(16), nullable=True))
    with op.batch_alter_table("people") as t:
        t.add_column(sa.Column("chosen_language", sa.String(16), nullable=True))
        t.add_column(sa.Column("platform_locale", sa.String(16), nullable=True))
    with op.batch_alter_table("items") as t:
        t.add_column(sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as t:
        t.drop_column("language")
    with op.batch_alter_table("people") as t:
        t.drop_column("platform_locale")
        t.drop_column("chosen_language")
    with op.batch_alter_table("teams") as t:
        t.drop_column("language")
