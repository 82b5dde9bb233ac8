"""The runs projection, now telemetry's own.

Databases made before services owned their tables already hold it (the store's
first revision made it): this revision adopts it as it is.

Revision ID: t0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
NAME = sa.String(200)
MONEY = sa.Numeric(28, 9).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    """Create ``runs`` unless it exists."""
    if sa.inspect(op.get_bind()).has_table("runs"):
        return
    when = sa.DateTime(timezone=True)
    op.create_table(
        "runs",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("agent", NAME, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("playbook_version", NAME, nullable=True),
        sa.Column("planner_version", NAME, nullable=True),
        sa.Column("started_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.Column("finished_at", when, nullable=True),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("tool_calls", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("last_event_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
        sa.CheckConstraint(
            "status IN ('submitted', 'running', 'waiting_approval', 'completed', 'failed', "
            "'cancelled')",
            name="status",
        ),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_runs_status_started_at", "runs", ["status", "started_at"])
    op.create_index("ix_runs_tenant_started_at", "runs", ["tenant", "started_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("runs")
