"""Model calls charged to budgets: ``budget_charges``, one row per charged call.

Revision ID: p0004
Revises: p0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0004"
down_revision: str | None = "p0003"
branch_labels: str | None = None
depends_on: str | None = None

MONEY = sa.Numeric(28, 9).with_variant(sa.BigInteger(), "sqlite")
NAME = sa.String(200)


def upgrade() -> None:
    """Create ``budget_charges``."""
    op.create_table(
        "budget_charges",
        sa.Column("charge_id", NAME, nullable=False),
        sa.Column("scope", NAME, nullable=False),
        sa.Column("run_id", NAME, nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("charge_id", name="pk_budget_charges"),
    )


def downgrade() -> None:
    """Drop it (the spend it added stays in the budgets)."""
    op.drop_table("budget_charges")
