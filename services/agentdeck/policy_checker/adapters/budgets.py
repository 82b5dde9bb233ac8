"""Budgets per scope, with reservations and charges that are race-free across processes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, String, bindparam, delete, literal, select, update

from agentdeck.policy_checker.adapters.tables import (
    BudgetChargeRow,
    BudgetReservationRow,
    BudgetRow,
    ReservationStatus,
)
from agentdeck.store.errors import IdempotencyKeyReusedError
from agentdeck.store.sql import (
    AnyInsert,
    InsertFactory,
    Money,
    UtcDateTime,
    per_dialect,
    quantize_money,
    table_of,
)

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


_BUDGETS = table_of(BudgetRow)
_RESERVATIONS = table_of(BudgetReservationRow)
_CHARGES = table_of(BudgetChargeRow)
_ZERO = Decimal(0)
_SCOPE = _BUDGETS.c.scope == bindparam("scope_key")
_RESERVATION = _RESERVATIONS.c.reservation_id == bindparam("reservation_key")

_GET = select(
    _BUDGETS.c.scope,
    _BUDGETS.c.limit_amount.label("limit"),
    _BUDGETS.c.reserved,
    _BUDGETS.c.spent,
    _BUDGETS.c.updated_at,
).where(_SCOPE)
_GET_RESERVATION = select(*_RESERVATIONS.c).where(_RESERVATION)

# The hold: one conditional UPDATE, so concurrent holds can never exceed the limit.
_AMOUNT = bindparam("hold_amount", type_=Money())
_HOLD = (
    update(_BUDGETS)
    .where(_SCOPE, _BUDGETS.c.limit_amount - _BUDGETS.c.reserved - _BUDGETS.c.spent >= _AMOUNT)
    .values(reserved=_BUDGETS.c.reserved + _AMOUNT, updated_at=bindparam("at"))
)
_DROP_RESERVATION = delete(_RESERVATIONS).where(_RESERVATION)
_CLOSE = (
    update(_RESERVATIONS)
    .where(_RESERVATION, _RESERVATIONS.c.status == ReservationStatus.RESERVED.value)
    .values(
        status=bindparam("to_status"), actual=bindparam("actual_amount"), closed_at=bindparam("at")
    )
    .returning(_RESERVATIONS.c.scope, _RESERVATIONS.c.amount)
)
_CLOSE_MANY = (
    update(_RESERVATIONS)
    .where(_RESERVATION, _RESERVATIONS.c.status == ReservationStatus.RESERVED.value)
    .values(
        status=bindparam("to_status"), actual=bindparam("actual_amount"), closed_at=bindparam("at")
    )
)
_OPEN = select(_RESERVATIONS.c.reservation_id, _RESERVATIONS.c.scope, _RESERVATIONS.c.amount).where(
    _RESERVATIONS.c.reservation_id.in_(bindparam("reservation_keys", expanding=True)),
    _RESERVATIONS.c.status == ReservationStatus.RESERVED.value,
)
_MOVE = (
    update(_BUDGETS)
    .where(_SCOPE)
    .values(
        reserved=_BUDGETS.c.reserved - _AMOUNT,
        spent=_BUDGETS.c.spent + bindparam("spent_amount", type_=Money()),
        updated_at=bindparam("at"),
    )
)

# A charge: an increment in one statement, with no limit (what it pays for has happened).
_SPEND = (
    update(_BUDGETS)
    .where(_SCOPE)
    .values(
        spent=_BUDGETS.c.spent + bindparam("spent_amount", type_=Money()),
        updated_at=bindparam("at"),
    )
)


@per_dialect
def _insert_charge(insert: InsertFactory) -> AnyInsert:
    return insert(_CHARGES).on_conflict_do_nothing(index_elements=["charge_id"])


@per_dialect
def _upsert_limit(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_BUDGETS)
    return stmt.on_conflict_do_update(
        index_elements=["scope"],
        set_={"limit_amount": stmt.excluded.limit_amount, "updated_at": stmt.excluded.updated_at},
    )


@per_dialect
def _insert_reservation(insert: InsertFactory) -> AnyInsert:
    # INSERT ... SELECT from the budget row: nothing is inserted for a scope
    # without a budget, so no foreign-key error aborts the caller's transaction.
    source = select(
        bindparam("reservation_key", type_=String()),
        _BUDGETS.c.scope,
        _AMOUNT,
        literal(ReservationStatus.RESERVED.value),
        bindparam("at", type_=UtcDateTime()),
    ).where(_SCOPE)
    names = ["reservation_id", "scope", "amount", "status", "created_at"]
    return insert(_RESERVATIONS).from_select(names, source).on_conflict_do_nothing()


class BudgetsRepository:
    """Budgets and reservations. Stateless; pass the connection.

    Every change is a conditional UPDATE, so any number of processes may
    reserve, settle and release against one budget at once on either backend.
    """

    def set_limit(
        self, conn: Connection, scope: str, limit: Decimal, *, now: datetime | None = None
    ) -> None:
        """Create the budget of ``scope`` or change its limit (reserved and spent stay)."""
        values = {"scope": scope, "limit_amount": limit, "reserved": _ZERO, "spent": _ZERO}
        conn.execute(_upsert_limit(conn), values | {"updated_at": now or datetime.now(UTC)})

    def get(self, conn: Connection, scope: str) -> Budget | None:
        """The budget of ``scope``, or None if it has none."""
        row = conn.execute(_GET, {"scope_key": scope}).mappings().first()
        return None if row is None else Budget(**row)

    def get_reservation(self, conn: Connection, reservation_id: str) -> Reservation | None:
        """The reservation ``reservation_id``, or None."""
        row = conn.execute(_GET_RESERVATION, {"reservation_key": reservation_id}).mappings().first()
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
        params = {
            "scope_key": scope,
            "reservation_key": reservation_id,
            "hold_amount": held,
            "at": now or datetime.now(UTC),
        }
        if conn.execute(_insert_reservation(conn), params).rowcount == 0:
            return self._already_reserved(conn, scope, reservation_id, held)
        if conn.execute(_HOLD, params).rowcount == 1:
            return True
        conn.execute(_DROP_RESERVATION, params)
        return False

    def reserve_many(
        self,
        conn: Connection,
        holds: Sequence[tuple[str, str, Decimal]],
        *,
        now: datetime | None = None,
    ) -> list[bool]:
        """:meth:`reserve` each ``(scope, reservation_id, amount)``, in order, in few statements.

        The common case (every reservation new, every budget enough for the
        batch's total) is one insert of all reservations and one conditional
        UPDATE per scope. Anything else is rolled back to a savepoint and
        reserved one hold at a time, so the outcome is always exactly that of
        calling :meth:`reserve` for each in turn.
        """
        at = now or datetime.now(UTC)
        if len(holds) < 2 or not conn.dialect.supports_sane_multi_rowcount:
            return [self.reserve(conn, s, r, a, now=at) for s, r, a in holds]
        amounts = [quantize_money(a) for _s, _r, a in holds]
        if any(a < 0 for a in amounts):
            raise ValueError("cannot reserve a negative amount")
        rows = [
            {"scope_key": s, "reservation_key": r, "hold_amount": a, "at": at}
            for (s, r, _a), a in zip(holds, amounts, strict=True)
        ]
        totals: dict[str, Decimal] = {}
        for (scope, _r, _a), amount in zip(holds, amounts, strict=True):
            totals[scope] = totals.get(scope, _ZERO) + amount
        savepoint = conn.begin_nested()
        if conn.execute(_insert_reservation(conn), rows).rowcount == len(rows) and all(
            conn.execute(_HOLD, {"scope_key": s, "hold_amount": t, "at": at}).rowcount == 1
            for s, t in totals.items()
        ):
            savepoint.commit()
            return [True] * len(rows)
        savepoint.rollback()
        return [self.reserve(conn, s, r, a, now=at) for s, r, a in holds]

    def close_many(
        self,
        conn: Connection,
        closes: Sequence[tuple[str, Decimal | None]],
        *,
        now: datetime | None = None,
    ) -> list[bool]:
        """Settle (``actual`` given) or release (None) each reservation; whether each closed.

        One read of the open reservations, one UPDATE for all of them and one
        per scope. If anyone closed one of them meanwhile, the batch rolls back
        to a savepoint and closes one at a time, as :meth:`settle` and
        :meth:`release` would.
        """
        at = now or datetime.now(UTC)
        ids = [rid for rid, _ in closes]
        if any(actual is not None and actual < 0 for _, actual in closes):
            raise ValueError("cannot settle a negative amount")
        if (
            len(closes) < 2
            or len(set(ids)) < len(ids)
            or not conn.dialect.supports_sane_multi_rowcount
        ):
            return [self._close_one(conn, rid, actual, at) for rid, actual in closes]
        open_ = {row.reservation_id: row for row in conn.execute(_OPEN, {"reservation_keys": ids})}
        todo = [(rid, actual) for rid, actual in closes if rid in open_]
        if not todo:
            return [False] * len(closes)
        savepoint = conn.begin_nested()
        params = [
            {
                "reservation_key": rid,
                "to_status": (
                    ReservationStatus.RELEASED if actual is None else ReservationStatus.SETTLED
                ).value,
                "actual_amount": actual,
                "at": at,
            }
            for rid, actual in todo
        ]
        if conn.execute(_CLOSE_MANY, params).rowcount != len(todo):
            savepoint.rollback()
            return [self._close_one(conn, rid, actual, at) for rid, actual in closes]
        moves: dict[str, tuple[Decimal, Decimal]] = {}
        for rid, actual in todo:
            row = open_[rid]
            held, spent = moves.get(row.scope, (_ZERO, _ZERO))
            moves[row.scope] = (
                held + row.amount,
                spent + (actual if actual is not None else _ZERO),
            )
        conn.execute(
            _MOVE,
            [
                {"scope_key": scope, "hold_amount": held, "spent_amount": spent, "at": at}
                for scope, (held, spent) in moves.items()
            ],
        )
        savepoint.commit()
        return [rid in open_ for rid in ids]

    def charge_many(
        self,
        conn: Connection,
        charges: Sequence[tuple[str, str, str | None, Decimal]],
        *,
        now: datetime | None = None,
    ) -> list[bool]:
        """Add each ``(charge_id, scope, run_id, amount)`` to the spend of its scope, once.

        For spend that needs no hold because it has already happened (a model
        call): no limit applies, so a charge may take a budget past its limit,
        and the next hold against it is refused. Idempotent on ``charge_id``
        (its row is inserted first, and only a new row adds to ``spent``, with
        one increment per scope), so a charge delivered twice, even to two
        processes at once, is charged once. A scope without a budget keeps the
        charge's row and changes no budget.

        Returns:
            Whether each charge was new (False: charged before).

        Raises:
            ValueError: An amount is negative.
        """
        at = now or datetime.now(UTC)
        if any(amount < 0 for _c, _s, _r, amount in charges):
            raise ValueError("cannot charge a negative amount")
        insert = _insert_charge(conn)
        new: list[bool] = []
        totals: dict[str, Decimal] = {}
        for charge_id, scope, run_id, amount in charges:
            row = {
                "charge_id": charge_id,
                "scope": scope,
                "run_id": run_id,
                "amount": quantize_money(amount),
                "charged_at": at,
            }
            fresh = conn.execute(insert, row).rowcount == 1
            new.append(fresh)
            if fresh:
                totals[scope] = totals.get(scope, _ZERO) + quantize_money(amount)
        spent = [{"scope_key": s, "spent_amount": t, "at": at} for s, t in totals.items() if t]
        if spent:
            conn.execute(_SPEND, spent)
        return new

    def _close_one(self, conn: Connection, rid: str, actual: Decimal | None, at: datetime) -> bool:
        if actual is None:
            return self.release(conn, rid, now=at)
        return self.settle(conn, rid, actual, now=at)

    def settle(
        self, conn: Connection, reservation_id: str, actual: Decimal, *, now: datetime | None = None
    ) -> bool:
        """Close a reservation as spent: its amount leaves ``reserved``, ``actual`` joins ``spent``.

        ``actual`` may exceed the reserved amount: what was spent is recorded.

        Returns:
            True if this call settled it; False if it is unknown or already closed.

        Raises:
            ValueError: ``actual`` is negative.
        """
        if actual < 0:
            raise ValueError(f"cannot settle a negative amount ({actual})")
        return self._close(conn, reservation_id, ReservationStatus.SETTLED, actual, now)

    def release(
        self, conn: Connection, reservation_id: str, *, now: datetime | None = None
    ) -> bool:
        """Close a reservation unspent: its amount leaves ``reserved``.

        Returns:
            True if this call released it; False if it is unknown or already closed.
        """
        return self._close(conn, reservation_id, ReservationStatus.RELEASED, None, now)

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
        params = {"reservation_key": reservation_id, "to_status": status.value, "at": at}
        closed = conn.execute(_CLOSE, params | {"actual_amount": actual}).first()
        if closed is None:
            return False
        spent = actual if actual is not None else _ZERO
        moved = {
            "scope_key": closed.scope,
            "hold_amount": closed.amount,
            "spent_amount": spent,
            "at": at,
        }
        conn.execute(_MOVE, moved)
        return True


def _to_reservation(row: RowMapping) -> Reservation:
    values: dict[str, Any] = dict(row)
    values["status"] = ReservationStatus(values["status"])
    return Reservation(**values)
