"""The policy-checker's tables: budgets and the holds against them.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Money, Schema, UtcDateTime, new_metadata

__all__ = ["SCHEMA", "BudgetReservationRow", "BudgetRow", "ReservationStatus", "Tables"]

_NAME = String(200)


class ReservationStatus(StrEnum):
    """State of a budget reservation."""

    RESERVED = "reserved"
    SETTLED = "settled"
    RELEASED = "released"


class Tables(DeclarativeBase):
    """Declarative base of the policy-checker's tables."""

    metadata = new_metadata()


class BudgetRow(Tables):
    """Spending allowance of one scope (``tenant:acme``, ``run:123``)."""

    __tablename__ = "budgets"

    scope: Mapped[str] = mapped_column(_NAME, primary_key=True)
    limit_amount: Mapped[Decimal] = mapped_column(Money())
    reserved: Mapped[Decimal] = mapped_column(Money())
    spent: Mapped[Decimal] = mapped_column(Money())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BudgetReservationRow(Tables):
    """An amount held against a budget until it is settled or released."""

    __tablename__ = "budget_reservations"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s.value}'" for s in ReservationStatus)),
            name="status",
        ),
        Index("ix_budget_reservations_scope_status", "scope", "status"),
    )

    reservation_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    scope: Mapped[str] = mapped_column(ForeignKey("budgets.scope"))
    amount: Mapped[Decimal] = mapped_column(Money())
    actual: Mapped[Decimal | None] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "policy-checker",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "policy_checker_schema_version",
)
