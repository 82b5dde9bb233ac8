"""Approval requests, now the approval service's own.

Databases made before services owned their tables already hold them (the
store's first revision made them): this revision adopts them as they are.

Revision ID: a0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
NAME = sa.String(200)


def upgrade() -> None:
    """Create ``approvals`` unless it exists."""
    if sa.inspect(op.get_bind()).has_table("approvals"):
        return
    when = sa.DateTime(timezone=True)
    op.create_table(
        "approvals",
        sa.Column("approval_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("tool", NAME, nullable=False),
        sa.Column("payload_hash", sa.String(128), nullable=False),
        sa.Column("requested_by", NAME, nullable=False),
        sa.Column("risk_band", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deadline", when, nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("decided_by", NAME, nullable=True),
        sa.Column("decider_role", NAME, nullable=True),
        sa.Column("decided_at", when, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name="pk_approvals"),
        sa.CheckConstraint(
            "status IN ('pending', 'granted', 'denied', 'expired', 'escalated')", name="status"
        ),
    )
    op.create_index("ix_approvals_run_id", "approvals", ["run_id"])
    op.create_index("ix_approvals_status_deadline", "approvals", ["status", "deadline"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("approvals")
