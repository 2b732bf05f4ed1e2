"""Identities inside workspaces: declared workspaces, ids per workspace, references per identity.

- `workspaces`: the organisation's own workspaces and tenants (org file `workspaces:`).
- `platform_ids`: a person may have one id per key *in each workspace* (the primary key gains
  `scope`); an identity (platform, scope, value) belongs to one person or team (unique);
  `origin` says who linked it (the org file, an email match, an admin's link).
- `conversation_refs`: the identity a person's reference was made for (`scope`, `identity`).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = "owner_kind, owner_id, key, scope, platform, rank, value"


def _platform_ids(name: str, with_origin: bool) -> None:
    columns = [
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
    ]
    if with_origin:
        columns.append(
            sa.Column("origin", sa.String(length=16), nullable=False, server_default="org")
        )
        key = sa.PrimaryKeyConstraint("owner_kind", "owner_id", "key", "scope")
    else:
        key = sa.PrimaryKeyConstraint("owner_kind", "owner_id", "key")
    op.create_table(name, *columns, key)


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "value"),
    )
    # one identity, one owner: where two owners share one, the first (by id) keeps it
    op.execute(
        "DELETE FROM platform_ids WHERE EXISTS (SELECT 1 FROM platform_ids o"
        " WHERE o.owner_kind = platform_ids.owner_kind AND o.platform = platform_ids.platform"
        " AND o.scope = platform_ids.scope AND o.value = platform_ids.value"
        " AND o.owner_id < platform_ids.owner_id)"
    )
    _platform_ids("platform_ids_v2", with_origin=True)
    op.execute(
        f"INSERT INTO platform_ids_v2 ({COLUMNS}, origin) SELECT {COLUMNS}, 'org' FROM platform_ids"
    )
    op.drop_index("ix_platform_ids_lookup", table_name="platform_ids")
    op.drop_table("platform_ids")
    op.rename_table("platform_ids_v2", "platform_ids")
    op.create_index("ix_platform_ids_lookup", "platform_ids", ["platform", "value", "owner_kind"])
    op.create_index(
        "ux_platform_ids_identity",
        "platform_ids",
        ["owner_kind", "platform", "scope", "value"],
        unique=True,
    )
    with op.batch_alter_table("conversation_refs") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("identity", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_refs") as batch:
        batch.drop_column("identity")
        batch.drop_column("scope")
    _platform_ids("platform_ids_v1", with_origin=False)
    # one row per key again: the org file's, else any
    op.execute(
        f"INSERT INTO platform_ids_v1 ({COLUMNS}) SELECT {COLUMNS} FROM platform_ids p"
        " WHERE NOT EXISTS (SELECT 1 FROM platform_ids o WHERE o.owner_kind = p.owner_kind"
        " AND o.owner_id = p.owner_id AND o.key = p.key AND (o.origin = 'org') > (p.origin = 'org'))"
        " AND NOT EXISTS (SELECT 1 FROM platform_ids o WHERE o.owner_kind = p.owner_kind"
        " AND o.owner_id = p.owner_id AND o.key = p.key AND (o.origin = 'org') = (p.origin = 'org')"
        " AND o.scope < p.scope)"
    )
    op.drop_index("ux_platform_ids_identity", table_name="platform_ids")
    op.drop_index("ix_platform_ids_lookup", table_name="platform_ids")
    op.drop_table("platform_ids")
    op.rename_table("platform_ids_v1", "platform_ids")
    op.create_index("ix_platform_ids_lookup", "platform_ids", ["platform", "value", "owner_kind"])
    op.drop_table("workspaces")
