"""The policy-checker's tables: budgets, the holds against them and the model calls
charged to them, the decision journal, how to settle each hold, the runs' spend,
and the kill switches.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.contracts.models import KillSwitchScope
from agentdeck.policy_checker.core import RefKind
from agentdeck.store.sql import Money, Schema, UtcDateTime, new_metadata, one_of

__all__ = [
    "SCHEMA",
    "BudgetChargeRow",
    "BudgetReservationRow",
    "BudgetRow",
    "DecisionRow",
    "HoldRefRow",
    "ReservationStatus",
    "RunSpendRow",
    "SwitchRow",
    "Tables",
]

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
        one_of("status", ReservationStatus),
        Index("ix_budget_reservations_scope_status", "scope", "status"),
    )

    reservation_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    scope: Mapped[str] = mapped_column(ForeignKey("budgets.scope"))
    amount: Mapped[Decimal] = mapped_column(Money())
    actual: Mapped[Decimal | None] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BudgetChargeRow(Tables):
    """A spend charged to a budget without a hold: a model call, which has already happened.

    One row per charged event (``charge_id`` is its event id), so a call is
    charged once however often its event arrives; the budget's ``spent`` grows
    by ``amount`` in the same transaction, even past its limit.
    """

    __tablename__ = "budget_charges"

    charge_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    scope: Mapped[str] = mapped_column(_NAME)
    run_id: Mapped[str | None] = mapped_column(_NAME)
    amount: Mapped[Decimal] = mapped_column(Money())
    charged_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DecisionRow(Tables):
    """A decision as journaled, before its events are published.

    ``record`` is the :class:`~agentdeck.policy_checker.core.DecisionRecord`
    JSON the service re-emits a redelivered request's decision from; only the
    policy-checker reads it.
    """

    __tablename__ = "policy_decisions"

    decision_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    record: Mapped[str] = mapped_column(Text)


class HoldRefRow(Tables):
    """How to settle an open hold, under one of the names the settling events use.

    A hold is found by its call's idempotency key (``kind`` ``call``) and, when
    the call waits for a human, by its approval id as well (``approval``): one
    row each, deleted when the hold is settled or released.
    """

    __tablename__ = "policy_hold_refs"
    __table_args__ = (
        one_of("kind", RefKind),
        Index("ix_policy_hold_refs_run_id", "run_id"),  # a cancelled run's open holds
    )

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(_NAME, primary_key=True)
    reservation_id: Mapped[str] = mapped_column(_NAME)
    scope: Mapped[str] = mapped_column(_NAME)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str | None] = mapped_column(_NAME)
    idempotency_key: Mapped[str] = mapped_column(_NAME)
    approval_id: Mapped[str | None] = mapped_column(_NAME)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RunSpendRow(Tables):
    """What a run's settled calls and charged model calls have spent, read by its next decision."""

    __tablename__ = "policy_run_spend"

    run_id: Mapped[str] = mapped_column(_NAME, primary_key=True)
    spent_micros: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SwitchRow(Tables):
    """The latest state of one kill switch (engaged or released), read by every replica."""

    __tablename__ = "policy_switches"
    __table_args__ = (one_of("scope", KillSwitchScope),)

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(_NAME, primary_key=True)
    engaged: Mapped[bool] = mapped_column(Boolean)
    set_by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "policy-checker",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "policy_checker_schema_version",
)
