"""What folding a run's events needs: the goal's event and the approvals still open.

Revision ID: t0002
Revises: t0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision: str | None = "t0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``goal_event_id`` and ``open_approvals``."""
    with op.batch_alter_table("runs") as table:
        table.add_column(sa.Column("goal_event_id", sa.String(64), nullable=True))
        table.add_column(
            sa.Column("open_approvals", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    """Drop both."""
    with op.batch_alter_table("runs") as table:
        table.drop_column("open_approvals")
        table.drop_column("goal_event_id")
