"""The demo's system of record: orders, refunds and sent emails, behind a small port."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from agentdeck.errors import ErrorCategory, TerminalError

__all__ = [
    "SEED_ORDERS",
    "Desk",
    "DeskError",
    "Order",
    "Refund",
    "SentEmail",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Order(_Frozen):
    """An order as the desk keeps it."""

    order_id: str
    customer_email: str
    amount_cents: int
    currency: str = "USD"
    status: Literal["paid", "partially_refunded", "refunded"] = "paid"
    refundable_cents: int


class Refund(_Frozen):
    """A refund of (part of) an order."""

    refund_id: str
    order_id: str
    amount_cents: int
    currency: str
    reason: str
    status: Literal["issued", "cancelled"] = "issued"
    cancel_reason: str | None = None


class SentEmail(_Frozen):
    """An email handed to the mail provider; ``deliveries`` counts hand-overs of one key."""

    message_id: str
    to: str
    subject: str
    body: str
    deliveries: int = 1


SEED_ORDERS: tuple[Order, ...] = (
    Order(
        order_id="1042", customer_email="dana@example.com", amount_cents=4200, refundable_cents=4200
    ),
    Order(
        order_id="2077",
        customer_email="lee@example.com",
        amount_cents=23000,
        refundable_cents=23000,
    ),
    Order(
        order_id="3001",
        customer_email="sam@example.com",
        amount_cents=90000,
        refundable_cents=90000,
    ),
)
"""The orders a fresh desk holds: $42.00, $230.00 and $900.00."""


class DeskError(TerminalError):
    """The desk refused an operation; retrying the same input cannot succeed."""

    def __init__(self, message: str, *, code: str, remediation: tuple[str, ...] = ()) -> None:
        super().__init__(
            message,
            capability="demo.desk",
            code=code,
            category=ErrorCategory.VALIDATION,
            remediation=remediation,
        )


class Desk(Protocol):
    """What the demo tools need from the system of record.

    Writes are keyed by the caller's idempotency key where the real system
    would dedupe (refunds); sending an email is deliberately not deduplicated,
    like most mail providers, so the executor's effect ledger is what keeps it
    from happening twice.
    """

    def order(self, order_id: str) -> Order:
        """The order ``order_id``; :class:`DeskError` ``order_not_found`` if none."""
        ...

    def create_refund(self, order_id: str, amount_cents: int, reason: str, *, key: str) -> Refund:
        """Refund ``amount_cents`` of an order; the same ``key`` returns the same refund."""
        ...

    def cancel_refund(self, refund_id: str, reason: str) -> Refund:
        """Cancel a refund and give the amount back to the order; idempotent."""
        ...

    def send_email(self, to: str, subject: str, body: str, *, key: str) -> SentEmail:
        """Hand an email to the provider; every call delivers (and counts) once more."""
        ...

    def refunds(self) -> list[Refund]:
        """Every refund, in id order."""
        ...

    def sent_emails(self) -> list[SentEmail]:
        """Every sent email, in id order."""
        ...
