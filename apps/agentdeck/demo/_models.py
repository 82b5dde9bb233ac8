"""Arguments and results of the demo tools."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FREE_TEXT",
    "DraftedEmail",
    "EmailDraft",
    "EmailReceipt",
    "FreeText",
    "HttpGet",
    "HttpPage",
    "OrderQuery",
    "RefundCancellation",
    "RefundRequest",
]

FREE_TEXT: dict[str, Any] = {"x-agentdeck-screen": "free-text"}
"""JSON-schema marker of a free-text field: the executor redacts PII in it before the
planner sees it (structured fields such as ``customer_email`` are left as they are)."""

FreeText = Annotated[str, Field(json_schema_extra=FREE_TEXT)]
"""A string field of free text, screened for PII by the executor."""

_ID = r"^[A-Za-z0-9_.-]{1,64}$"
_EMAIL = r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$"


class _Args(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderQuery(_Args):
    """Which order to look up."""

    order_id: str = Field(pattern=_ID, description="The order's id, e.g. 1042.")


class RefundRequest(_Args):
    """A refund to issue against an order."""

    order_id: str = Field(pattern=_ID)
    amount_cents: int = Field(gt=0, le=10_000_000, description="Amount to refund, in cents.")
    reason: str = Field(min_length=1, max_length=500)


class RefundCancellation(_Args):
    """A refund to cancel (the compensation of ``create_refund``)."""

    refund_id: str = Field(pattern=r"^rf-[0-9a-f-]{36}$")
    reason: str = Field(min_length=1, max_length=500)


class EmailDraft(_Args):
    """An email to draft or send."""

    to: str = Field(pattern=_EMAIL, description="One recipient address.")
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class DraftedEmail(_Args):
    """A drafted email, ready for review; nothing was sent."""

    to: str
    subject: str
    body: FreeText
    words: int


class EmailReceipt(_Args):
    """The provider accepted the email."""

    message_id: str
    to: str
    subject: str


class HttpGet(_Args):
    """A page to fetch."""

    url: str = Field(pattern=r"^https?://", max_length=2000)


class HttpPage(_Args):
    """What a GET returned (a 4xx status is a result, not a failure)."""

    url: str
    status: int
    content_type: str
    body: FreeText
    truncated: bool = False
