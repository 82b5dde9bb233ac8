"""Budgets and their reservations, now the policy-checker's own.

Databases made before services owned their tables already hold both (the
store's first revision made them): this revision adopts them as they are.

Revision ID: p0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

MONEY = sa.Numeric(28, 9).with_variant(sa.BigInteger(), "sqlite")
NAME = sa.String(200)


def upgrade() -> None:
    """Create ``budgets`` and ``budget_reservations`` unless they exist."""
    if sa.inspect(op.get_bind()).has_table("budgets"):
        return
    op.create_table(
        "budgets",
        sa.Column("scope", NAME, nullable=False),
        sa.Column("limit_amount", MONEY, nullable=False),
        sa.Column("reserved", MONEY, nullable=False),
        sa.Column("spent", MONEY, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_budgets"),
    )
    op.create_table(
        "budget_reservations",
        sa.Column("reservation_id", NAME, nullable=False),
        sa.Column("scope", NAME, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("actual", MONEY, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("reservation_id", name="pk_budget_reservations"),
        sa.ForeignKeyConstraint(
            ["scope"], ["budgets.scope"], name="fk_budget_reservations_scope_budgets"
        ),
        sa.CheckConstraint("status IN ('reserved', 'settled', 'released')", name="status"),
    )
    op.create_index(
        "ix_budget_reservations_scope_status", "budget_reservations", ["scope", "status"]
    )


def downgrade() -> None:
    """Drop both."""
    op.drop_table("budget_reservations")
    op.drop_table("budgets")
