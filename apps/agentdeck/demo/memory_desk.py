"""A desk in process memory: for contract-only registries and unit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from agentdeck.demo import _rules
from agentdeck.demo.desk import SEED_ORDERS, Order, Refund, SentEmail

__all__ = ["InMemoryDesk"]


class InMemoryDesk:
    """A :class:`~agentdeck.demo.desk.Desk` held in memory, seeded with the demo orders."""

    def __init__(self, orders: Iterable[Order] = SEED_ORDERS) -> None:
        self._lock = threading.Lock()
        self._orders = {o.order_id: o for o in orders}
        self._refunds: dict[str, Refund] = {}
        self._emails: dict[str, SentEmail] = {}

    def order(self, order_id: str) -> Order:
        """The order ``order_id``."""
        with self._lock:
            found = self._orders.get(order_id)
        if found is None:
            raise _rules.not_found("order", order_id)
        return found

    def create_refund(self, order_id: str, amount_cents: int, reason: str, *, key: str) -> Refund:
        """Refund part of an order; the same key returns the same refund."""
        with self._lock:
            existing = self._refunds.get(_rules.refund_id(key))
            if existing is not None:
                return _rules.check_same_refund(existing, order_id, amount_cents)
            order = self._orders.get(order_id)
            if order is None:
                raise _rules.not_found("order", order_id)
            order, refund = _rules.refund(order, amount_cents, reason, key=key)
            self._orders[order_id], self._refunds[refund.refund_id] = order, refund
            return refund

    def cancel_refund(self, refund_id: str, reason: str) -> Refund:
        """Cancel a refund; idempotent."""
        with self._lock:
            issued = self._refunds.get(refund_id)
            if issued is None:
                raise _rules.not_found("refund", refund_id)
            order, cancelled = _rules.cancel(self._orders[issued.order_id], issued, reason)
            self._orders[order.order_id], self._refunds[refund_id] = order, cancelled
            return cancelled

    def send_email(self, to: str, subject: str, body: str, *, key: str) -> SentEmail:
        """Deliver an email (again, if the key was used before)."""
        with self._lock:
            message_id = _rules.email_id(key)
            email = _rules.sent(self._emails.get(message_id), to, subject, body, key=key)
            self._emails[message_id] = email
            return email

    def refunds(self) -> list[Refund]:
        """Every refund, by id."""
        with self._lock:
            return [self._refunds[k] for k in sorted(self._refunds)]

    def sent_emails(self) -> list[SentEmail]:
        """Every sent email, by id."""
        with self._lock:
            return [self._emails[k] for k in sorted(self._emails)]
