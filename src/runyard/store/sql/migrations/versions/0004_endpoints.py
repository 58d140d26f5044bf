"""0004 endpoints: online endpoints and their deployments.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("traffic", sa.Text(), nullable=False),
        sa.Column("mirror", sa.Text(), nullable=False),
        sa.Column("primary_key_hash", sa.String(length=64), nullable=False),
        sa.Column("primary_key_hint", sa.String(length=8), nullable=False),
        sa.Column("secondary_key_hash", sa.String(length=64), nullable=False),
        sa.Column("secondary_key_hint", sa.String(length=8), nullable=False),
        sa.Column("keys_update_time", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoints")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_endpoints_workspace_id_name")),
    )
    op.create_table(
        "deployments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("model_uri", sa.String(length=512), nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("model_version", sa.BigInteger(), nullable=False),
        sa.Column("env_manager", sa.String(length=16), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("endpoint_id", "name", name=op.f("uq_deployments_endpoint_id_name")),
    )
    op.create_index("ix_deployments_workspace", "deployments", ["workspace_id", "endpoint_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deployments_workspace", table_name="deployments")
    op.drop_table("deployments")
    op.drop_table("endpoints")
