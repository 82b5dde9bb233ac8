"""A run's status may be ``queued``: its goal waits while an operator pauses its scope.

Downgrading turns queued runs back into ``submitted`` (what they were shown as
before) with the constraint.

Revision ID: t0004
Revises: t0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0004"
down_revision: str | None = "t0003"
branch_labels: str | None = None
depends_on: str | None = None

_CHECK = "ck_runs_status"
_STATUSES = ("submitted", "running", "waiting_approval", "completed", "failed", "cancelled")


def _status_in(statuses: tuple[str, ...]) -> str:
    return "status IN ({})".format(", ".join(f"'{s}'" for s in statuses))


def upgrade() -> None:
    """Let the status be queued."""
    with op.batch_alter_table("runs") as table:
        table.drop_constraint(op.f(_CHECK), type_="check")
        table.create_check_constraint(op.f(_CHECK), _status_in(("queued", *_STATUSES)))


def downgrade() -> None:
    """Queued runs show as submitted again."""
    op.execute(sa.text("UPDATE runs SET status = 'submitted' WHERE status = 'queued'"))
    with op.batch_alter_table("runs") as table:
        table.drop_constraint(op.f(_CHECK), type_="check")
        table.create_check_constraint(op.f(_CHECK), _status_in(_STATUSES))
