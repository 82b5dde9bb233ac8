"""Create the store's tables.

The services' own tables are made by each service's migrations now. Databases
made before that got them here; the service's first revision adopts them.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Types spelled out here, not imported from the models, so this revision never changes.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(64)
NAME = sa.String(200)


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    _archive()
    op.create_table(
        "processed_events",
        sa.Column("consumer", NAME, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("processed_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("event_archive")


def _archive() -> None:
    op.create_table(
        "event_archive",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("event_type", NAME, nullable=False),
        sa.Column("schema_fingerprint", sa.String(64), nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", _when(), nullable=False),
        sa.Column("archived_at", _when(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_event_archive"),
        sa.UniqueConstraint("event_id", name="uq_event_archive_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_archive_run_id_seq", "event_archive", ["run_id", "seq"])
