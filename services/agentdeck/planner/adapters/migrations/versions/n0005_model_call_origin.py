"""How each recorded model answer was obtained (from the endpoint or the cache, how fast).

Revision ID: n0005
Revises: n0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "n0005"
down_revision: str | None = "n0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``planner_model_calls.cached`` and ``latency_ms`` (empty for answers kept before)."""
    with op.batch_alter_table("planner_model_calls") as table:
        table.add_column(sa.Column("cached", sa.Boolean(), nullable=True))
        table.add_column(sa.Column("latency_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("planner_model_calls") as table:
        table.drop_column("latency_ms")
        table.drop_column("cached")
