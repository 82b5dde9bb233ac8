"""Redriven dead letters, in a table of their own.

They used to be rows of the shared ``service_state`` table (service
``dead-letters``, keys ``redriven:<id>``): they move here, and leave it.
Downgrading drops the table without moving rows back.

Revision ID: o0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "o0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``dead_letter_redrives``; move the old records in."""
    redrives = op.create_table(
        "dead_letter_redrives",
        sa.Column("dead_letter_id", sa.String(64), nullable=False),
        sa.Column("redriven_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redriven_by", sa.String(200), nullable=False),
        sa.Column("republished_to", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("dead_letter_id", name="pk_dead_letter_redrives"),
    )
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("service_state"):
        return
    bag = sa.table(
        "service_state", sa.column("service", sa.String), sa.column("key"), sa.column("state")
    )
    found = bind.execute(
        sa.select(bag.c.key, bag.c.state).where(bag.c.service == "dead-letters")
    ).all()
    rows = []
    for key, state in found:
        record = json.loads(state)
        rows.append(
            {
                "dead_letter_id": key.removeprefix("redriven:"),
                "redriven_at": datetime.fromisoformat(record["at"]),
                "redriven_by": record["by"],
                "republished_to": record["to"],
            }
        )
    if rows:
        op.bulk_insert(redrives, rows)
    bind.execute(sa.delete(bag).where(bag.c.service == "dead-letters"))


def downgrade() -> None:
    """Drop it."""
    op.drop_table("dead_letter_redrives")
