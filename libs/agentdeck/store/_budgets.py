"""Budgets per scope, with reservations that are race-free across processes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, literal, select, update

from agentdeck.store._dialect import insert_for
from agentdeck.store._enums import ReservationStatus
from agentdeck.store._models import BudgetReservationRow, BudgetRow
from agentdeck.store._types import Money, UtcDateTime, quantize_money
from agentdeck.store.errors import IdempotencyKeyReusedError

__all__ = ["Budget", "BudgetsRepository", "Reservation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """The allowance of one scope and how much of it is held or used.

    Attributes:
        scope: What the budget applies to (``tenant:acme``, ``run:123``).
        limit: The most that may be reserved plus spent.
        reserved: Held by open reservations.
        spent: Settled.
        updated_at: Last change.
    """

    scope: str
    limit: Decimal
    reserved: Decimal
    spent: Decimal
    updated_at: datetime

    @property
    def remaining(self) -> Decimal:
        """What a new reservation may still take (negative after a limit cut)."""
        return self.limit - self.reserved - self.spent


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    """An amount held against a budget.

    Attributes:
        reservation_id: Caller-chosen id; reserving twice with it reserves once.
        scope: Budget it holds against.
        amount: Amount held.
        actual: Amount finally spent, once settled.
        status: ``reserved`` until settled or released.
        created_at: When it was made.
        closed_at: When it was settled or released.
    """

    reservation_id: str
    scope: str
    amount: Decimal
    actual: Decimal | None
    status: ReservationStatus
    created_at: datetime
    closed_at: datetime | None


_BUDGET_COLUMNS = (
    BudgetRow.scope,
    BudgetRow.limit_amount.label("limit"),
    BudgetRow.reserved,
    BudgetRow.spent,
    BudgetRow.updated_at,
)
_RESERVATION_COLUMNS = tuple(BudgetReservationRow.__table__.c)
_ZERO = Decimal(0)


class BudgetsRepository:
    """Budgets and reservations. Stateless; pass the connection.

    Every change is a conditional UPDATE, so any number of processes may
    reserve, settle and release against one budget at once on either backend.
    """

    def set_limit(
        self, conn: Connection, scope: str, limit: Decimal, *, now: datetime | None = None
    ) -> None:
        """Create the budget of ``scope`` or change its limit (reserved and spent stay)."""
        at = now or datetime.now(UTC)
        values = {"scope": scope, "limit_amount": limit, "reserved": _ZERO, "spent": _ZERO}
        stmt = insert_for(conn, BudgetRow).values(values | {"updated_at": at})
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope"], set_={"limit_amount": limit, "updated_at": at}
        )
        conn.execute(stmt)

    def get(self, conn: Connection, scope: str) -> Budget | None:
        """The budget of ``scope``, or None if it has none."""
        stmt = select(*_BUDGET_COLUMNS).where(BudgetRow.scope == scope)
        row = conn.execute(stmt).mappings().first()
        return None if row is None else Budget(**row)

    def get_reservation(self, conn: Connection, reservation_id: str) -> Reservation | None:
        """The reservation ``reservation_id``, or None."""
        stmt = select(*_RESERVATION_COLUMNS).where(
            BudgetReservationRow.reservation_id == reservation_id
        )
        row = conn.execute(stmt).mappings().first()
        return None if row is None else _to_reservation(row)

    def reserve(
        self,
        conn: Connection,
        scope: str,
        reservation_id: str,
        amount: Decimal,
        *,
        now: datetime | None = None,
    ) -> bool:
        """Hold ``amount`` against the budget of ``scope`` if enough remains.

        The hold is one conditional UPDATE (``reserved + amount`` only where
        ``limit - reserved - spent >= amount``), so concurrent reservations can
        never hold more than the limit. Idempotent on ``reservation_id``: once a
        reservation exists, reserving it again returns True and holds nothing
        more. A refused reservation leaves no trace and may be tried again.

        Returns:
            True if the amount is held; False if the scope has no budget or too
            little remains.

        Raises:
            ValueError: ``amount`` is negative.
            IdempotencyKeyReusedError: ``reservation_id`` exists for another scope or amount.
        """
        held = quantize_money(amount)
        if held < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount})")
        if not self._insert_reservation(conn, scope, reservation_id, held, now):
            return self._already_reserved(conn, scope, reservation_id, held)
        money = literal(held, Money())
        hold = (
            update(BudgetRow)
            .where(
                BudgetRow.scope == scope,
                BudgetRow.limit_amount - BudgetRow.reserved - BudgetRow.spent >= money,
            )
            .values(reserved=BudgetRow.reserved + money, updated_at=now or datetime.now(UTC))
        )
        if conn.execute(hold).rowcount == 1:
            return True
        conn.execute(
            delete(BudgetReservationRow).where(
                BudgetReservationRow.reservation_id == reservation_id
            )
        )
        return False

    def settle(
        self, conn: Connection, reservation_id: str, actual: Decimal, *, now: datetime | None = None
    ) -> bool:
        """Close a reservation as spent: its amount leaves ``reserved``, ``actual`` joins ``spent``.

        Returns:
            True if this call settled it; False if it is unknown or already closed.
        """
        return self._close(conn, reservation_id, ReservationStatus.SETTLED, actual, now)

    def release(
        self, conn: Connection, reservation_id: str, *, now: datetime | None = None
    ) -> bool:
        """Close a reservation unspent: its amount leaves ``reserved``.

        Returns:
            True if this call released it; False if it is unknown or already closed.
        """
        return self._close(conn, reservation_id, ReservationStatus.RELEASED, None, now)

    def _insert_reservation(
        self,
        conn: Connection,
        scope: str,
        reservation_id: str,
        amount: Decimal,
        now: datetime | None,
    ) -> bool:
        # INSERT ... SELECT from the budget row: nothing is inserted for a scope
        # without a budget, so no foreign-key error aborts the caller's transaction.
        source = select(
            literal(reservation_id),
            BudgetRow.scope,
            literal(amount, Money()),
            literal(ReservationStatus.RESERVED.value),
            literal(now or datetime.now(UTC), UtcDateTime()),
        ).where(BudgetRow.scope == scope)
        names = ["reservation_id", "scope", "amount", "status", "created_at"]
        stmt = insert_for(conn, BudgetReservationRow).from_select(names, source)
        return conn.execute(stmt.on_conflict_do_nothing()).rowcount == 1

    def _already_reserved(
        self, conn: Connection, scope: str, reservation_id: str, amount: Decimal
    ) -> bool:
        existing = self.get_reservation(conn, reservation_id)
        if existing is None:
            return False
        if existing.scope != scope or existing.amount != amount:
            raise IdempotencyKeyReusedError(
                f"reservation {reservation_id!r} exists for {existing.amount} on {existing.scope}",
                capability="store.budgets",
                code="reservation_id_reused",
                remediation=("derive the reservation id from the call it pays for",),
            )
        return True

    def _close(
        self,
        conn: Connection,
        reservation_id: str,
        status: ReservationStatus,
        actual: Decimal | None,
        now: datetime | None,
    ) -> bool:
        at = now or datetime.now(UTC)
        close = (
            update(BudgetReservationRow)
            .where(
                BudgetReservationRow.reservation_id == reservation_id,
                BudgetReservationRow.status == ReservationStatus.RESERVED.value,
            )
            .values(status=status.value, actual=actual, closed_at=at)
            .returning(BudgetReservationRow.scope, BudgetReservationRow.amount)
        )
        closed = conn.execute(close).first()
        if closed is None:
            return False
        spent = literal(actual if actual is not None else _ZERO, Money())
        move = (
            update(BudgetRow)
            .where(BudgetRow.scope == closed.scope)
            .values(
                reserved=BudgetRow.reserved - literal(closed.amount, Money()),
                spent=BudgetRow.spent + spent,
                updated_at=at,
            )
        )
        conn.execute(move)
        return True


def _to_reservation(row: RowMapping) -> Reservation:
    values: dict[str, Any] = dict(row)
    values["status"] = ReservationStatus(values["status"])
    return Reservation(**values)
