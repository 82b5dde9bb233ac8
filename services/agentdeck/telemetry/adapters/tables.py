"""Telemetry's tables: the runs projection, the read side of every run's events.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Money, Schema, UtcDateTime, new_metadata
from agentdeck.telemetry.core.runs import RunStatus

__all__ = ["SCHEMA", "RunRow", "Tables"]

_ID = String(64)
_NAME = String(200)


class Tables(DeclarativeBase):
    """Declarative base of telemetry's tables."""

    metadata = new_metadata()


class RunRow(Tables):
    """The current state of a run, folded from its events."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s.value}'" for s in RunStatus)),
            name="status",
        ),
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


SCHEMA = Schema(
    "telemetry",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "telemetry_schema_version",
)
