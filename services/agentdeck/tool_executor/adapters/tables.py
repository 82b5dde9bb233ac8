"""The tool-executor's tables: the effect ledger, call claims and approval slots.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import get_args

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Schema, UtcDateTime, new_metadata, one_of
from agentdeck.tool_executor.core.parking import SlotState

__all__ = [
    "SCHEMA",
    "ApprovalSlotRow",
    "BeginStatus",
    "ClaimRow",
    "EffectRow",
    "EffectStatus",
    "Tables",
]

_ID = String(64)
_NAME = String(200)


class EffectStatus(StrEnum):
    """State of one side effect in the effect ledger."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"


class BeginStatus(StrEnum):
    """What :meth:`EffectLedger.begin` tells its caller to do."""

    NEW = "new"
    """The key was unseen and is now recorded as started: perform the effect."""
    IN_PROGRESS_OR_UNKNOWN = "in_progress_or_unknown"
    """An earlier attempt started and never finished: reconcile, never repeat blindly."""
    COMPLETED = "completed"
    """The effect already happened; reuse the stored result."""
    FAILED = "failed"
    """The effect failed definitively; do not perform it again."""


class Tables(DeclarativeBase):
    """Declarative base of the tool-executor's tables."""

    metadata = new_metadata()


class EffectRow(Tables):
    """One side effect, recorded before it happens and again after."""

    __tablename__ = "effect_ledger"
    __table_args__ = (
        one_of("status", EffectStatus),
        Index("ix_effect_ledger_run_id", "run_id"),
        Index("ix_effect_ledger_status_started_at", "status", "started_at"),
    )

    idempotency_key: Mapped[str] = mapped_column(_NAME, primary_key=True)
    run_id: Mapped[str] = mapped_column(_ID)
    step_id: Mapped[str] = mapped_column(_ID)
    tool: Mapped[str] = mapped_column(_NAME)
    args_hash: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)


class ClaimRow(Tables):
    """The decision event that first used an idempotency key (a replay is refused)."""

    __tablename__ = "executor_claims"

    idempotency_key: Mapped[str] = mapped_column(_NAME, primary_key=True)
    decision_id: Mapped[str] = mapped_column(_ID)
    event_id: Mapped[str] = mapped_column(_ID)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApprovalSlotRow(Tables):
    """What the executor knows about one approval id (see ``core.parking.ApprovalSlot``)."""

    __tablename__ = "executor_approval_slots"
    __table_args__ = (one_of("state", get_args(SlotState)),)

    approval_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(Text)
    """The parked decision's JSON, sealed under its run's subject key when sealing is on."""
    grant_event_id: Mapped[str | None] = mapped_column(_ID)
    payload_hash: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "tool-executor",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "tool_executor_schema_version",
)
