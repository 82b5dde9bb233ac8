"""A run's wake-up time: when a run with a call in flight and no progress is re-driven.

Revision ID: n0003
Revises: n0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "n0003"
down_revision: str | None = "n0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``planner_runs.wake_at`` (empty: runs saved before are not re-driven), indexed."""
    with op.batch_alter_table("planner_runs") as table:
        table.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_planner_runs_wake_at", "planner_runs", ["wake_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_planner_runs_wake_at", table_name="planner_runs")
    with op.batch_alter_table("planner_runs") as table:
        table.drop_column("wake_at")
