"""Run heads signed together: each head keeps its place in its batch's tree and its path.

A checkpoint's run heads are now signed with one signature over the root of a
Merkle tree of their messages; a head records its leaf in that tree, the
tree's size and its audit path (its hashes' hex, one after another). Heads signed
before keep null there and their own signature. Downgrading is refused while
any head is signed in a batch: without its path its signature checks nothing,
and the heads of finished runs are never signed again.

Revision ID: t0006
Revises: t0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0006"
down_revision: str | None = "t0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the batch columns (null: a head signed alone)."""
    with op.batch_alter_table("merkle_run_heads") as table:
        table.add_column(sa.Column("batch_index", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("batch_size", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("batch_path", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop them; refused while a head is signed in a batch."""
    conn = op.get_bind()
    count = sa.text("SELECT count(*) FROM merkle_run_heads WHERE batch_size IS NOT NULL")
    if conn.execute(count).scalar_one():
        raise RuntimeError(
            "run heads are signed in batches, which the code before revision t0006 cannot "
            "verify: restore the database from a backup taken before upgrading instead"
        )
    with op.batch_alter_table("merkle_run_heads") as table:
        table.drop_column("batch_path")
        table.drop_column("batch_size")
        table.drop_column("batch_index")
