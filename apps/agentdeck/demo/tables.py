"""The demo desk's tables: orders, refunds and sent emails, each with a version.

The desk stands in for a customer's own system, so it keeps its own tables and
migrations (:data:`SCHEMA`), created the first time the desk is seeded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Schema, new_metadata

__all__ = ["SCHEMA", "EmailRow", "OrderRow", "RefundRow", "Tables"]

_ID = String(64)


class Tables(DeclarativeBase):
    """Declarative base of the demo desk's tables."""

    metadata = new_metadata()


class OrderRow(Tables):
    """An order (:class:`~agentdeck.demo.desk.Order`)."""

    __tablename__ = "demo_orders"

    order_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    customer_email: Mapped[str] = mapped_column(String(320))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    refundable_cents: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)


class RefundRow(Tables):
    """A refund (:class:`~agentdeck.demo.desk.Refund`)."""

    __tablename__ = "demo_refunds"

    refund_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(_ID)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)


class EmailRow(Tables):
    """A sent email (:class:`~agentdeck.demo.desk.SentEmail`); ``to`` is ``recipient`` here."""

    __tablename__ = "demo_emails"

    message_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)


SCHEMA = Schema(
    "demo-desk",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "demo_desk_schema_version",
)
