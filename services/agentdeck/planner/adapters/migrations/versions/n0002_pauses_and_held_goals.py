"""Paused admission: the scopes whose new runs wait, and the goals waiting in them.

Revision ID: n0002
Revises: n0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "n0002"
down_revision: str | None = "n0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
NAME = sa.String(200)


def upgrade() -> None:
    """Create ``planner_pauses`` and ``planner_held_goals``."""
    when = sa.DateTime(timezone=True)
    op.create_table(
        "planner_pauses",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", NAME, nullable=False),
        sa.Column("set_by", NAME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_at", when, nullable=False),
        sa.CheckConstraint(
            "scope IN ('GLOBAL', 'TENANT', 'AGENT')", name="ck_planner_pauses_scope"
        ),
        sa.PrimaryKeyConstraint("scope", "target", name="pk_planner_pauses"),
    )
    op.create_table(
        "planner_held_goals",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("goal_event_id", ID, nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("agent", NAME, nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("held_at", when, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_planner_held_goals"),
    )
    op.create_index("ix_planner_held_goals_held_at", "planner_held_goals", ["held_at"])


def downgrade() -> None:
    """Drop both (goals still waiting are lost with them)."""
    op.drop_index("ix_planner_held_goals_held_at", table_name="planner_held_goals")
    op.drop_table("planner_held_goals")
    op.drop_table("planner_pauses")
