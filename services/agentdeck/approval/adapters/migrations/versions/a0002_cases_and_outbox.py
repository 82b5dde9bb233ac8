"""Cases and the outbox get tables of their own.

Revision ID: a0002
Revises: a0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a0002"
down_revision: str | None = "a0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``approval_cases`` and ``approval_outbox``."""
    op.create_table(
        "approval_cases",
        sa.Column("approval_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed_case", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name="pk_approval_cases"),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.approval_id"],
            name="fk_approval_cases_approval_id_approvals",
        ),
    )
    op.create_table(
        "approval_outbox",
        sa.Column("event_id", ID, nullable=False),
        sa.Column("approval_id", ID, nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_approval_outbox"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("approval_outbox")
    op.drop_table("approval_cases")
