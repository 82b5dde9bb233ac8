"""Kill switches of scope RUN (a cancelled run), and a cancelled run's holds found by run.

``policy_switches.scope`` takes ``RUN``; ``policy_hold_refs`` gets an index on
``run_id``, which cancelling a run reads its open holds by. Downgrading drops
the RUN switches (a release of the cancellation) with the index.

Revision ID: p0003
Revises: p0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0003"
down_revision: str | None = "p0002"
branch_labels: str | None = None
depends_on: str | None = None

_CHECK = "ck_policy_switches_scope"
_SCOPES = ("GLOBAL", "TENANT", "AGENT", "TOOL")
_INDEX = "ix_policy_hold_refs_run_id"


def _scope_in(scopes: tuple[str, ...]) -> str:
    return "scope IN ({})".format(", ".join(f"'{s}'" for s in scopes))


def upgrade() -> None:
    """Let the scope be RUN; index the hold references by run."""
    with op.batch_alter_table("policy_switches") as table:
        table.drop_constraint(op.f(_CHECK), type_="check")
        table.create_check_constraint(op.f(_CHECK), _scope_in((*_SCOPES, "RUN")))
    op.create_index(_INDEX, "policy_hold_refs", ["run_id"])


def downgrade() -> None:
    """Drop the RUN switches and the index."""
    op.drop_index(_INDEX, table_name="policy_hold_refs")
    op.execute(sa.text("DELETE FROM policy_switches WHERE scope = 'RUN'"))
    with op.batch_alter_table("policy_switches") as table:
        table.drop_constraint(op.f(_CHECK), type_="check")
        table.create_check_constraint(op.f(_CHECK), _scope_in(_SCOPES))
