"""The desk's business rules, shared by every desk implementation."""

from __future__ import annotations

from agentdeck.contracts import deterministic_id
from agentdeck.demo.desk import DeskError, Order, Refund, SentEmail

__all__ = ["cancel", "check_same_refund", "email_id", "not_found", "refund", "refund_id", "sent"]


def refund_id(key: str) -> str:
    """The refund a call with idempotency key ``key`` creates."""
    return "rf-" + deterministic_id("demo-refund", key)


def email_id(key: str) -> str:
    """The message id of an email sent under idempotency key ``key``."""
    return "msg-" + deterministic_id("demo-email", key)


def not_found(kind: str, ident: str) -> DeskError:
    """The error for a missing order or refund."""
    return DeskError(
        f"no {kind} {ident!r}",
        code=f"{kind}_not_found",
        remediation=(f"check the {kind} id", "look the customer up again"),
    )


def refund(order: Order, amount_cents: int, reason: str, *, key: str) -> tuple[Order, Refund]:
    """The order after refunding ``amount_cents`` of it, and the refund."""
    if amount_cents > order.refundable_cents:
        raise DeskError(
            f"order {order.order_id} has {order.refundable_cents} cents refundable,"
            f" not {amount_cents}",
            code="refund_exceeds_refundable",
            remediation=(f"refund at most {order.refundable_cents} cents",),
        )
    left = order.refundable_cents - amount_cents
    status = "refunded" if left == 0 else "partially_refunded"
    new = Refund(
        refund_id=refund_id(key),
        order_id=order.order_id,
        amount_cents=amount_cents,
        currency=order.currency,
        reason=reason,
    )
    return order.model_copy(update={"refundable_cents": left, "status": status}), new


def cancel(order: Order, issued: Refund, reason: str) -> tuple[Order, Refund]:
    """The order after cancelling ``issued``, and the cancelled refund (idempotent)."""
    if issued.status == "cancelled":
        return order, issued
    left = order.refundable_cents + issued.amount_cents
    status = "paid" if left == order.amount_cents else "partially_refunded"
    return (
        order.model_copy(update={"refundable_cents": left, "status": status}),
        issued.model_copy(update={"status": "cancelled", "cancel_reason": reason}),
    )


def check_same_refund(existing: Refund, order_id: str, amount_cents: int) -> Refund:
    """``existing`` if a repeated call asks for the same refund; else a reuse error."""
    if (existing.order_id, existing.amount_cents) != (order_id, amount_cents):
        raise DeskError(
            f"refund {existing.refund_id} was created for other arguments",
            code="idempotency_key_reused",
            remediation=("use a new idempotency key for a different refund",),
        )
    return existing


def sent(email: SentEmail | None, to: str, subject: str, body: str, *, key: str) -> SentEmail:
    """The record of one more delivery of the email sent under ``key``."""
    if email is None:
        return SentEmail(message_id=email_id(key), to=to, subject=subject, body=body)
    return email.model_copy(update={"deliveries": email.deliveries + 1})
