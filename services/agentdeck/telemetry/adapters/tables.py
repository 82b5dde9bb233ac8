"""Telemetry's tables: the runs projection, the read side of every run's events, and
the archive's Merkle log (its leaves, signed checkpoints and notes, run heads, keys).

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Money, Schema, UtcDateTime, new_metadata, one_of
from agentdeck.telemetry.core.runs import RunStatus

__all__ = [
    "SCHEMA",
    "MerkleCheckpointRow",
    "MerkleHeadRow",
    "MerkleKeyRow",
    "MerkleLeafChunkRow",
    "MerkleNoteRow",
    "MerkleRunHeadRow",
    "MerkleRunLastLeafRow",
    "RunRow",
    "Tables",
]

_ID = String(64)
_NAME = String(200)


class Tables(DeclarativeBase):
    """Declarative base of telemetry's tables."""

    metadata = new_metadata()


class RunRow(Tables):
    """The current state of a run, folded from its events."""

    __tablename__ = "runs"
    __table_args__ = (
        one_of("status", RunStatus),
        Index("ix_runs_started_at", "started_at"),
        Index("ix_runs_status_started_at", "status", "started_at"),
        Index("ix_runs_tenant_started_at", "tenant", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    tenant: Mapped[str] = mapped_column(_NAME)
    agent: Mapped[str] = mapped_column(_NAME)
    status: Mapped[str] = mapped_column(String(32))
    goal: Mapped[str] = mapped_column(Text)
    playbook_version: Mapped[str | None] = mapped_column(_NAME)
    planner_version: Mapped[str | None] = mapped_column(_NAME)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    steps: Mapped[int] = mapped_column(Integer)
    tool_calls: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[Decimal] = mapped_column(Money())
    last_event_id: Mapped[str | None] = mapped_column(_ID)
    goal_event_id: Mapped[str | None] = mapped_column(_ID)
    open_approvals: Mapped[int] = mapped_column(Integer, server_default="0")


class MerkleHeadRow(Tables):
    """Where the Merkle log stands: its one row, versioned so two replicas never both extend it.

    ``frontier`` is the tree's right edge, a JSON list of hex node hashes (one per
    set bit of ``tree_size``); ``run_heads`` is how many runs have a signed run
    head, what the next checkpoint signs (kept apart from the heads themselves,
    so deleting a head shows).
    """

    __tablename__ = "merkle_head"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    run_heads: Mapped[int] = mapped_column(BigInteger)


class MerkleLeafChunkRow(Tables):
    """The leaves one append logged, from leaf ``first_leaf`` on, in leaf order.

    ``leaf_version`` 1 (logged before leaves covered the stored row): ``leaves``
    is a JSON list of ``[seq, event_id, leaf hash hex, run_prev]``, ``packed``
    is null. ``leaf_version`` 2: ``leaves`` is a JSON list of ``[seq,
    event_id]``; ``packed`` holds the leaf hashes (32 bytes each), then each
    leaf's ``run_prev`` (8 bytes, little-endian, -1 for none).
    """

    __tablename__ = "merkle_leaf_chunks"

    first_leaf: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaves: Mapped[str] = mapped_column(Text)
    leaf_version: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    packed: Mapped[bytes | None] = mapped_column(LargeBinary)


class MerkleRunLastLeafRow(Tables):
    """The leaf of a run's latest logged event: where its chain of leaves ends."""

    __tablename__ = "merkle_run_last_leaf"

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger)


class MerkleCheckpointRow(Tables):
    """A signed checkpoint: the log's first ``tree_size`` leaves hash to ``root_hash``."""

    __tablename__ = "merkle_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    key_id: Mapped[str] = mapped_column(_NAME)
    signature: Mapped[str] = mapped_column(Text)
    run_heads: Mapped[int | None] = mapped_column(BigInteger)


class MerkleNoteRow(Tables):
    """The checkpoint of ``tree_size`` as a signed C2SP checkpoint note (its exact text)."""

    __tablename__ = "merkle_notes"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)


class MerkleKeyRow(Tables):
    """A checkpoint signer's public key (base64), as the checkpointer published it."""

    __tablename__ = "merkle_keys"

    key_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    public_key: Mapped[str] = mapped_column(Text)


class MerkleRunHeadRow(Tables):
    """A run's latest signed run head: where its events stand in the log at ``tree_size``.

    ``batch_*``: its place in the tree of the heads signed with it (``batch_path`` its
    audit path, the hashes' hex one after another); null for a head signed alone.
    """

    __tablename__ = "merkle_run_heads"

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(BigInteger)
    last_leaf: Mapped[int] = mapped_column(BigInteger)
    terminal_leaf: Mapped[int | None] = mapped_column(BigInteger)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    key_id: Mapped[str] = mapped_column(_NAME)
    signature: Mapped[str] = mapped_column(Text)
    batch_index: Mapped[int | None] = mapped_column(BigInteger)
    batch_size: Mapped[int | None] = mapped_column(BigInteger)
    batch_path: Mapped[str | None] = mapped_column(Text)


SCHEMA = Schema(
    "telemetry",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "telemetry_schema_version",
)
