"""The demo desk's orders, refunds and emails, in tables of its own.

They used to be rows of the shared ``service_state`` table (service
``demo-desk``): they move here, and leave it. Downgrading drops the tables
without moving rows back.

Revision ID: d0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)


def upgrade() -> None:
    """Create the three tables; move the desk's old rows in."""
    orders = op.create_table(
        "demo_orders",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("refundable_cents", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_demo_orders"),
    )
    refunds = op.create_table(
        "demo_refunds",
        sa.Column("refund_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("refund_id", name="pk_demo_refunds"),
    )
    emails = op.create_table(
        "demo_emails",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_demo_emails"),
    )
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("service_state"):
        return
    bag = sa.table(
        "service_state",
        sa.column("service", sa.String),
        sa.column("key", sa.String),
        sa.column("version", sa.Integer),
        sa.column("state", sa.Text),
    )
    found = bind.execute(
        sa.select(bag.c.key, bag.c.version, bag.c.state).where(bag.c.service == "demo-desk")
    ).all()
    moved: dict[str, list[dict[str, object]]] = {"order": [], "refund": [], "email": []}
    for key, version, state in found:
        kind = key.partition(":")[0]
        if kind in moved:
            row = {**json.loads(state), "version": version}
            if kind == "email":
                row["recipient"] = row.pop("to")
            moved[kind].append(row)
    for table, kind in ((orders, "order"), (refunds, "refund"), (emails, "email")):
        if moved[kind]:
            op.bulk_insert(table, moved[kind])
    bind.execute(sa.delete(bag).where(bag.c.service == "demo-desk"))


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("demo_emails", "demo_refunds", "demo_orders"):
        op.drop_table(table)
