"""The desk kept in the SQL store (keyed service state), so it survives restarts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection

from agentdeck.demo import _rules
from agentdeck.demo.desk import SEED_ORDERS, Order, Refund, SentEmail
from agentdeck.errors import RetryableError
from agentdeck.store import Store

__all__ = ["SERVICE", "SqlDesk"]

SERVICE = "demo-desk"
"""The service name the desk's rows live under in ``service_state``."""

_M = TypeVar("_M", bound=BaseModel)


def _conflict() -> RetryableError:
    return RetryableError(
        "the desk changed under a concurrent write",
        capability="demo.desk",
        code="write_conflict",
        remediation=("retry the call",),
    )


class SqlDesk:
    """A :class:`~agentdeck.demo.desk.Desk` in ``service_state`` (service ``demo-desk``).

    Keys: ``order:<id>``, ``refund:<id>``, ``email:<message id>``. Each write is
    one transaction with optimistic version checks; a lost race is retryable.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def seed(self, orders: Iterable[Order] = SEED_ORDERS) -> None:
        """Add the orders that do not exist yet (idempotent)."""
        with self._store.transaction() as conn:
            for order in orders:
                key = f"order:{order.order_id}"
                self._store.state.put(
                    conn, SERVICE, key, order.model_dump_json(), expected_version=None
                )

    def order(self, order_id: str) -> Order:
        """The order ``order_id``."""
        with self._store.transaction(read_only=True) as conn:
            found = self._read(conn, f"order:{order_id}", Order)
        if found is None:
            raise _rules.not_found("order", order_id)
        return found[0]

    def create_refund(self, order_id: str, amount_cents: int, reason: str, *, key: str) -> Refund:
        """Refund part of an order; the same key returns the same refund."""
        refund_key = f"refund:{_rules.refund_id(key)}"
        with self._store.transaction() as conn:
            existing = self._read(conn, refund_key, Refund)
            if existing is not None:
                return _rules.check_same_refund(existing[0], order_id, amount_cents)
            found = self._read(conn, f"order:{order_id}", Order)
            if found is None:
                raise _rules.not_found("order", order_id)
            order, refund = _rules.refund(found[0], amount_cents, reason, key=key)
            self._write(conn, f"order:{order_id}", order, found[1])
            self._write(conn, refund_key, refund, None)
        return refund

    def cancel_refund(self, refund_id: str, reason: str) -> Refund:
        """Cancel a refund; idempotent."""
        with self._store.transaction() as conn:
            issued = self._read(conn, f"refund:{refund_id}", Refund)
            if issued is None:
                raise _rules.not_found("refund", refund_id)
            order_key = f"order:{issued[0].order_id}"
            found = self._read(conn, order_key, Order)
            if found is None:
                raise _rules.not_found("order", issued[0].order_id)
            order, cancelled = _rules.cancel(found[0], issued[0], reason)
            if cancelled is not issued[0]:
                self._write(conn, order_key, order, found[1])
                self._write(conn, f"refund:{refund_id}", cancelled, issued[1])
        return cancelled

    def send_email(self, to: str, subject: str, body: str, *, key: str) -> SentEmail:
        """Deliver an email (again, if the key was used before)."""
        email_key = f"email:{_rules.email_id(key)}"
        with self._store.transaction() as conn:
            found = self._read(conn, email_key, SentEmail)
            before, version = found if found is not None else (None, None)
            email = _rules.sent(before, to, subject, body, key=key)
            self._write(conn, email_key, email, version)
        return email

    def refunds(self) -> list[Refund]:
        """Every refund, by id."""
        return self._scan("refund:", Refund)

    def sent_emails(self) -> list[SentEmail]:
        """Every sent email, by id."""
        return self._scan("email:", SentEmail)

    def _scan(self, prefix: str, model: type[_M]) -> list[_M]:
        with self._store.transaction(read_only=True) as conn:
            entries = self._store.state.scan(conn, SERVICE, prefix=prefix, limit=10_000)
        return [model.model_validate_json(e.state) for e in entries]

    def _read(self, conn: Connection, key: str, model: type[_M]) -> tuple[_M, int] | None:
        entry = self._store.state.get(conn, SERVICE, key)
        return None if entry is None else (model.model_validate_json(entry.state), entry.version)

    def _write(self, conn: Connection, key: str, value: BaseModel, version: int | None) -> None:
        state = value.model_dump_json()
        if self._store.state.put(conn, SERVICE, key, state, expected_version=version) is None:
            raise _conflict()
