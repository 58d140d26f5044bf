"""0005 search indexes: metric-ordered run search and metric history read straight off indexes.

- ``latest_metrics (key, value, is_nan, run_uuid)``: a search ordered by a metric walks it in order.
- ``params (key, value, run_uuid)`` replaces ``(key, value)``: param filters answered index-only.
- ``metrics (run_uuid, key, timestamp, step)`` replaces ``(run_uuid, key, step, timestamp)``:
  get-history's own order, so histories stream and page without sorting (same width: no
  extra cost on the metric insert path).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value", "is_nan", "run_uuid"])
    op.drop_index("ix_params_key_value", table_name="params")
    op.create_index("ix_params_key_value", "params", ["key", "value", "run_uuid"])
    op.create_index("ix_metrics_run_key_time", "metrics", ["run_uuid", "key", "timestamp", "step"])
    op.drop_index("ix_metrics_run_key_step", table_name="metrics")


def downgrade() -> None:
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_uuid", "key", "step", "timestamp"])
    op.drop_index("ix_metrics_run_key_time", table_name="metrics")
    op.drop_index("ix_params_key_value", table_name="params")
    op.create_index("ix_params_key_value", "params", ["key", "value"])
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
