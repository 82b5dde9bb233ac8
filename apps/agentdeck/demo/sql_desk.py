"""The desk kept in the SQL store (its own tables, see :mod:`agentdeck.demo.tables`), so it
survives restarts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, select, update

from agentdeck.demo import _rules
from agentdeck.demo.desk import SEED_ORDERS, Order, Refund, SentEmail
from agentdeck.demo.tables import SCHEMA, EmailRow, OrderRow, RefundRow, Tables
from agentdeck.errors import RetryableError
from agentdeck.store import Store, migrate
from agentdeck.store.sql import per_dialect, table_of

__all__ = ["SqlDesk"]

_M = TypeVar("_M", bound=BaseModel)


def _conflict() -> RetryableError:
    return RetryableError(
        "the desk changed under a concurrent write",
        capability="demo.desk",
        code="write_conflict",
        remediation=("retry the call",),
    )


class _Kind:
    """How one model maps to its table: the key column and renamed fields."""

    def __init__(self, row: type[Tables], model: type[BaseModel], key: str, **renamed: str):
        self.table = table_of(row)
        self.model = model
        self.key = self.table.c[key]
        self.renamed = renamed  # model field -> column
        table = self.table
        self.insert_new = per_dialect(lambda insert: insert(table).on_conflict_do_nothing())

    def row(self, value: BaseModel) -> dict[str, Any]:
        data = value.model_dump()
        for field, column in self.renamed.items():
            data[column] = data.pop(field)
        return data

    def value(self, row: dict[str, Any]) -> BaseModel:
        data = dict(row)
        data.pop("version")
        for field, column in self.renamed.items():
            data[field] = data.pop(column)
        return self.model.model_validate(data)


_ORDERS = _Kind(OrderRow, Order, "order_id")
_REFUNDS = _Kind(RefundRow, Refund, "refund_id")
_EMAILS = _Kind(EmailRow, SentEmail, "message_id", to="recipient")


class SqlDesk:
    """A :class:`~agentdeck.demo.desk.Desk` in the store's ``demo_*`` tables.

    Each write is one transaction with optimistic version checks; a lost race is retryable.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def seed(self, orders: Iterable[Order] = SEED_ORDERS) -> None:
        """Create the desk's tables if needed and add the orders that do not exist yet."""
        migrate(self._store.engine, SCHEMA)
        with self._store.transaction() as conn:
            known = {o.order_id for o in orders} & set(
                conn.execute(select(_ORDERS.key)).scalars().all()
            )
            for order in orders:
                if order.order_id not in known:
                    self._write(conn, _ORDERS, order.order_id, order, None)

    def order(self, order_id: str) -> Order:
        """The order ``order_id``."""
        with self._store.transaction(read_only=True) as conn:
            found = self._read(conn, _ORDERS, order_id, Order)
        if found is None:
            raise _rules.not_found("order", order_id)
        return found[0]

    def create_refund(self, order_id: str, amount_cents: int, reason: str, *, key: str) -> Refund:
        """Refund part of an order; the same key returns the same refund."""
        refund_id = _rules.refund_id(key)
        with self._store.transaction() as conn:
            existing = self._read(conn, _REFUNDS, refund_id, Refund)
            if existing is not None:
                return _rules.check_same_refund(existing[0], order_id, amount_cents)
            found = self._read(conn, _ORDERS, order_id, Order)
            if found is None:
                raise _rules.not_found("order", order_id)
            order, refund = _rules.refund(found[0], amount_cents, reason, key=key)
            self._write(conn, _ORDERS, order_id, order, found[1])
            self._write(conn, _REFUNDS, refund_id, refund, None)
        return refund

    def cancel_refund(self, refund_id: str, reason: str) -> Refund:
        """Cancel a refund; idempotent."""
        with self._store.transaction() as conn:
            issued = self._read(conn, _REFUNDS, refund_id, Refund)
            if issued is None:
                raise _rules.not_found("refund", refund_id)
            order_id = issued[0].order_id
            found = self._read(conn, _ORDERS, order_id, Order)
            if found is None:
                raise _rules.not_found("order", order_id)
            order, cancelled = _rules.cancel(found[0], issued[0], reason)
            if cancelled is not issued[0]:
                self._write(conn, _ORDERS, order_id, order, found[1])
                self._write(conn, _REFUNDS, refund_id, cancelled, issued[1])
        return cancelled

    def send_email(self, to: str, subject: str, body: str, *, key: str) -> SentEmail:
        """Deliver an email (again, if the key was used before)."""
        message_id = _rules.email_id(key)
        with self._store.transaction() as conn:
            found = self._read(conn, _EMAILS, message_id, SentEmail)
            before, version = found if found is not None else (None, None)
            email = _rules.sent(before, to, subject, body, key=key)
            self._write(conn, _EMAILS, message_id, email, version)
        return email

    def refunds(self) -> list[Refund]:
        """Every refund, by id."""
        return self._all(_REFUNDS, Refund)

    def sent_emails(self) -> list[SentEmail]:
        """Every sent email, by id."""
        return self._all(_EMAILS, SentEmail)

    def _all(self, kind: _Kind, model: type[_M]) -> list[_M]:
        with self._store.transaction(read_only=True) as conn:
            rows = conn.execute(select(kind.table).order_by(kind.key)).mappings().all()
        return [_as(model, kind.value(dict(r))) for r in rows]

    def _read(
        self, conn: Connection, kind: _Kind, key: str, model: type[_M]
    ) -> tuple[_M, int] | None:
        row = conn.execute(select(kind.table).where(kind.key == key)).mappings().first()
        return None if row is None else (_as(model, kind.value(dict(row))), row["version"])

    def _write(
        self, conn: Connection, kind: _Kind, key: str, value: BaseModel, version: int | None
    ) -> None:
        values = kind.row(value)
        if version is None:
            written = conn.execute(kind.insert_new(conn), {**values, "version": 1}).rowcount
        else:
            stmt = (
                update(kind.table)
                .where(kind.key == key, kind.table.c.version == version)
                .values(**values, version=version + 1)
            )
            written = conn.execute(stmt).rowcount
        if written != 1:
            raise _conflict()


def _as(model: type[_M], value: BaseModel) -> _M:
    assert isinstance(value, model)  # noqa: S101 -- each kind maps to its own model
    return value
