"""The planner's run states and recorded model answers, in tables of its own.

Both used to be rows of the shared ``service_state`` table (services
``planner`` and ``planner-llm``): they move here, and leave it. Downgrading
drops the tables without moving rows back.

Revision ID: n0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "n0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)


def upgrade() -> None:
    """Create ``planner_runs`` and ``planner_model_calls``; move the old rows in."""
    when = sa.DateTime(timezone=True)
    runs = op.create_table(
        "planner_runs",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_planner_runs"),
    )
    calls = op.create_table(
        "planner_model_calls",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("recorded_at", when, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "turn", name="pk_planner_model_calls"),
    )
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("service_state"):
        return
    bag = sa.table(
        "service_state",
        sa.column("service", sa.String),
        sa.column("key", sa.String),
        sa.column("state", sa.Text),
        sa.column("updated_at", when),
    )
    found = bind.execute(
        sa.select(bag.c.service, bag.c.key, bag.c.state, bag.c.updated_at).where(
            bag.c.service.in_(["planner", "planner-llm"])
        )
    ).all()
    moved_runs = [_run(key, state, at) for service, key, state, at in found if service == "planner"]
    moved_calls = [
        _call(key, state, at) for service, key, state, at in found if service == "planner-llm"
    ]
    if moved_runs:
        op.bulk_insert(runs, moved_runs)
    if moved_calls:
        op.bulk_insert(calls, moved_calls)
    bind.execute(sa.delete(bag).where(bag.c.service.in_(["planner", "planner-llm"])))


def _run(run_id: str, state: str, at: datetime | None) -> dict[str, object]:
    return {
        "run_id": run_id,
        "state": state,
        "updated_at": at or datetime.now(UTC),
    }


def _call(key: str, response: str, at: datetime | None) -> dict[str, object]:
    run_id, _, turn = key.rpartition(":")
    return {
        "run_id": run_id,
        "turn": int(turn),
        "response": response,
        "recorded_at": at or datetime.now(UTC),
    }


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("planner_model_calls")
    op.drop_table("planner_runs")
