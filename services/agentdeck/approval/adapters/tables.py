"""The approval service's tables: approval requests, their cases and the outbox.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Schema, UtcDateTime, new_metadata, one_of

__all__ = [
    "OPEN_APPROVAL_STATUSES",
    "SCHEMA",
    "ApprovalCaseRow",
    "ApprovalOutboxRow",
    "ApprovalRow",
    "ApprovalStatus",
    "Tables",
]

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
        one_of("status", ApprovalStatus),
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


class ApprovalCaseRow(Tables):
    """The whole case of an approval: its request event, arguments and votes.

    ``sealed_case`` is the case's JSON sealed under its run's subject key (it
    holds arguments and comments); only the service opens it. ``version``
    starts at 1 and grows by one with every write, for optimistic concurrency.
    """

    __tablename__ = "approval_cases"

    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.approval_id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    sealed_case: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApprovalOutboxRow(Tables):
    """An event committed with a case change and not yet acknowledged by Kafka.

    ``record`` is the event as the codec encoded it (the Kafka record's value).
    """

    __tablename__ = "approval_outbox"

    event_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    approval_id: Mapped[str] = mapped_column(_ID)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "approval",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "approval_schema_version",
)
