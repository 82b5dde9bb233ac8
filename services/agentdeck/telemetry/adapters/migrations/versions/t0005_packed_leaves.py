"""Leaf chunks say which leaf encoding they use, and keep new leaves packed.

Chunks logged before this revision keep their JSON rows (``[seq, event_id,
leaf hash hex, run_prev]``) and are marked ``leaf_version`` 1. Chunks logged
after it use the leaf over the stored row (version 2): ``leaves`` holds
``[seq, event_id]`` and ``packed`` the leaf hashes (32 bytes each) then each
leaf's ``run_prev`` (8 bytes, little-endian, -1 for none), so a verifier reads
a chunk without decoding a row. Downgrading writes version 2 chunks back as
JSON rows and drops the columns; their leaves still hash as version 2, which
the code before this revision cannot verify.

Revision ID: t0005
Revises: t0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
import sys
from array import array

import sqlalchemy as sa
from alembic import op

revision = "t0005"
down_revision: str | None = "t0004"
branch_labels: str | None = None
depends_on: str | None = None

_HASH = 32


def upgrade() -> None:
    """Add the version (1 for what is there) and the packed leaves."""
    with op.batch_alter_table("merkle_leaf_chunks") as table:
        table.add_column(
            sa.Column("leaf_version", sa.SmallInteger(), nullable=False, server_default="1")
        )
        table.add_column(sa.Column("packed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Write packed chunks back as JSON rows, then drop the columns."""
    conn = op.get_bind()
    chunks = sa.table(
        "merkle_leaf_chunks",
        sa.column("first_leaf", sa.BigInteger()),
        sa.column("leaves", sa.Text()),
        sa.column("packed", sa.LargeBinary()),
    )
    found = conn.execute(sa.select(chunks).where(chunks.c.packed.is_not(None))).all()
    for first_leaf, leaves, packed in found:
        rows = json.loads(leaves)
        hashes = bytes(packed[: _HASH * len(rows)])
        prevs = array("q")
        prevs.frombytes(bytes(packed[_HASH * len(rows) :]))
        if sys.byteorder == "big":
            prevs.byteswap()
        full = [
            [seq, event_id, hashes[i * _HASH : (i + 1) * _HASH].hex(), None if p < 0 else p]
            for i, ((seq, event_id), p) in enumerate(zip(rows, prevs, strict=True))
        ]
        conn.execute(
            chunks.update()
            .where(chunks.c.first_leaf == first_leaf)
            .values(leaves=json.dumps(full), packed=None)
        )
    with op.batch_alter_table("merkle_leaf_chunks") as table:
        table.drop_column("packed")
        table.drop_column("leaf_version")
