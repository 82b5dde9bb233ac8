"""The approval service's tables: one row per approval request.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Schema, UtcDateTime, new_metadata

__all__ = ["OPEN_APPROVAL_STATUSES", "SCHEMA", "ApprovalRow", "ApprovalStatus", "Tables"]

_ID = String(64)
_NAME = String(200)


class ApprovalStatus(StrEnum):
    """State of an approval request. ``pending`` and ``escalated`` are open."""

    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"
    EXPIRED = "expired"
    ESCALATED = "escalated"


OPEN_APPROVAL_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.ESCALATED)


class Tables(DeclarativeBase):
    """Declarative base of the approval service's tables."""

    metadata = new_metadata()


class ApprovalRow(Tables):
    """A request for a human decision on one exact tool call."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s.value}'" for s in ApprovalStatus)),
            name="status",
        ),
        Index("ix_approvals_run_id", "run_id"),
        Index("ix_approvals_status_deadline", "status", "deadline"),
    )

    approval_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    run_id: Mapped[str] = mapped_column(_ID)
    step_id: Mapped[str] = mapped_column(_ID)
    tool: Mapped[str] = mapped_column(_NAME)
    payload_hash: Mapped[str] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(_NAME)
    risk_band: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(_NAME)
    decider_role: Mapped[str | None] = mapped_column(_NAME)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "approval",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "approval_schema_version",
)
