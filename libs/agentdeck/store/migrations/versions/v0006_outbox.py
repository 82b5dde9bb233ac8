"""The outbox: published records kept until the archive holds them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agentdeck.store._types import KafkaHeaders, UtcDateTime

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``outbox``."""
    op.create_table(
        "outbox",
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", KafkaHeaders(), nullable=False),
        sa.Column("kept_at", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("sent_again", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "event_id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_owner_due_at", "outbox", ["owner", "due_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_outbox_owner_due_at", table_name="outbox")
    op.drop_table("outbox")
