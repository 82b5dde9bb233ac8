"""Per-subject data keys and the runs bound to them (crypto-shredding).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agentdeck.store._types import UtcDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``subject_keys`` and ``run_subjects``."""
    op.create_table(
        "subject_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_bound_at", UtcDateTime(), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=True),
        sa.Column("erased_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_subject_keys"),
    )
    op.create_index(
        "ix_subject_keys_tenant_last_bound_at", "subject_keys", ["tenant", "last_bound_at"]
    )
    op.create_table(
        "run_subjects",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("bound_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_subjects"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("run_subjects")
    op.drop_index("ix_subject_keys_tenant_last_bound_at", table_name="subject_keys")
    op.drop_table("subject_keys")
