"""Leaf chunks say which leaf encoding they use, and keep new leaves packed.

Chunks logged before this revision keep their JSON rows (``[seq, event_id,
leaf hash hex, run_prev]``) and are marked ``leaf_version`` 1. Chunks logged
after it use the leaf over the stored row (version 2): ``leaves`` holds
``[seq, event_id]`` and ``packed`` the leaf hashes (32 bytes each) then each
leaf's ``run_prev`` (8 bytes, little-endian, -1 for none), so a verifier reads
a chunk without decoding a row. Downgrading a log that holds version 2 leaves
is refused: the code before this revision cannot verify them, and nothing
would tell them from version 1 leaves again.

Revision ID: t0005
Revises: t0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0005"
down_revision: str | None = "t0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the version (1 for what is there) and the packed leaves."""
    with op.batch_alter_table("merkle_leaf_chunks") as table:
        table.add_column(
            sa.Column("leaf_version", sa.SmallInteger(), nullable=False, server_default="1")
        )
        table.add_column(sa.Column("packed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop the columns; refused while the log holds version 2 leaves."""
    conn = op.get_bind()
    count = sa.text("SELECT count(*) FROM merkle_leaf_chunks WHERE leaf_version <> 1")
    if conn.execute(count).scalar_one():
        raise RuntimeError(
            "the Merkle log holds leaves of version 2, which the code before revision t0005 "
            "cannot verify: restore the database from a backup taken before upgrading instead"
        )
    with op.batch_alter_table("merkle_leaf_chunks") as table:
        table.drop_column("packed")
        table.drop_column("leaf_version")
