"""A run's final event id: the re-drive task checks the archive holds it.

Revision ID: n0004
Revises: n0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "n0004"
down_revision: str | None = "n0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``planner_runs.final_event_id`` (empty for runs saved before)."""
    with op.batch_alter_table("planner_runs") as table:
        table.add_column(sa.Column("final_event_id", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("planner_runs") as table:
        table.drop_column("final_event_id")
