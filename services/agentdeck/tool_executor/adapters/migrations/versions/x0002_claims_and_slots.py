"""Call claims and approval slots get tables of their own, out of ``service_state``.

The executor kept both in the shared ``service_state`` table under service
``tool-executor``: ``claim:<idempotency key>`` (JSON ``decision_id``,
``event_id``) and ``approval:<approval id>`` (an ``ApprovalSlot`` as JSON).
This revision creates ``executor_claims`` and ``executor_approval_slots`` and
moves those rows into them, deleting them from ``service_state``.

Revision ID: x0002
Revises: x0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from agentdeck.store.sql import UtcDateTime

revision = "x0002"
down_revision: str | None = "x0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
NAME = sa.String(200)
SERVICE = "tool-executor"
CLAIM = "claim:"
SLOT = "approval:"
SLOT_FIELDS = ("approval_id", "state", "decision", "grant_event_id", "payload_hash")
CHUNK = 500

_state = sa.table(
    "service_state",
    sa.column("service", NAME),
    sa.column("key", NAME),
    sa.column("state", sa.Text()),
    sa.column("updated_at", UtcDateTime()),
)
_claims = sa.table(
    "executor_claims",
    sa.column("idempotency_key", NAME),
    sa.column("decision_id", ID),
    sa.column("event_id", ID),
    sa.column("claimed_at", UtcDateTime()),
)
_slots = sa.table(
    "executor_approval_slots",
    *(sa.column(name, sa.Text()) for name in SLOT_FIELDS),
    sa.column("updated_at", UtcDateTime()),
)


def upgrade() -> None:
    """Create both tables, then move the executor's rows out of ``service_state``."""
    when = sa.DateTime(timezone=True)
    op.create_table(
        "executor_claims",
        sa.Column("idempotency_key", NAME, nullable=False),
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("claimed_at", when, nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_executor_claims"),
    )
    op.create_table(
        "executor_approval_slots",
        sa.Column("approval_id", NAME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("grant_event_id", ID, nullable=True),
        sa.Column("payload_hash", sa.String(128), nullable=True),
        sa.Column("updated_at", when, nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name="pk_executor_approval_slots"),
        sa.CheckConstraint("state IN ('waiting', 'granted', 'executed', 'closed')", name="state"),
    )
    conn = op.get_bind()
    if sa.inspect(conn).has_table("service_state"):
        _move(conn)


def _move(conn: sa.Connection) -> None:
    for prefix, table, row_of in ((CLAIM, _claims, _claim), (SLOT, _slots, _slot)):
        mine = sa.and_(_state.c.service == SERVICE, _state.c.key.startswith(prefix))
        found = conn.execute(
            sa.select(_state.c.key, _state.c.state, _state.c.updated_at).where(mine)
        )
        rows = [row_of(key.removeprefix(prefix), state, at) for key, state, at in found]
        for start in range(0, len(rows), CHUNK):
            conn.execute(table.insert(), rows[start : start + CHUNK])
        conn.execute(sa.delete(_state).where(mine))


def _claim(key: str, state: str, at: datetime) -> dict[str, Any]:
    data = json.loads(state)
    return {
        "idempotency_key": key,
        "decision_id": data["decision_id"],
        "event_id": data["event_id"],
        "claimed_at": at,
    }


def _slot(approval_id: str, state: str, at: datetime) -> dict[str, Any]:
    data = json.loads(state)
    return {name: data.get(name) for name in SLOT_FIELDS} | {
        "approval_id": approval_id,
        "updated_at": at,
    }


def downgrade() -> None:
    """Drop both tables. Their rows are not moved back into ``service_state``: a
    downgraded executor starts with no claims and no parked decisions."""
    op.drop_table("executor_approval_slots")
    op.drop_table("executor_claims")
