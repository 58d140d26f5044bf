"""0007 auth attempts: the token endpoint's rate limit shared by every replica.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_attempts",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_auth_attempts_key_time", "auth_attempts", ["key", "time"])
    op.create_index("ix_auth_attempts_time", "auth_attempts", ["time"])


def downgrade() -> None:
    op.drop_table("auth_attempts")
