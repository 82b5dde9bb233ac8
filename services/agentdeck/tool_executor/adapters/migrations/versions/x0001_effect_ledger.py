"""The effect ledger, now the tool-executor's own.

Databases made before services owned their tables already hold it (the store's
first revision made it): this revision adopts it as it is.

Revision ID: x0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "x0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
NAME = sa.String(200)


def upgrade() -> None:
    """Create ``effect_ledger`` unless it exists."""
    if sa.inspect(op.get_bind()).has_table("effect_ledger"):
        return
    when = sa.DateTime(timezone=True)
    op.create_table(
        "effect_ledger",
        sa.Column("idempotency_key", NAME, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("tool", NAME, nullable=False),
        sa.Column("args_hash", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", when, nullable=False),
        sa.Column("finished_at", when, nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_effect_ledger"),
        sa.CheckConstraint(
            "status IN ('started', 'completed', 'failed', 'unknown')", name="status"
        ),
    )
    op.create_index("ix_effect_ledger_run_id", "effect_ledger", ["run_id"])
    op.create_index("ix_effect_ledger_status_started_at", "effect_ledger", ["status", "started_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("effect_ledger")
