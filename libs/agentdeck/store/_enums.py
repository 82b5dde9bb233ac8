"""The closed sets of states kept in the store's tables."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ApprovalStatus",
    "RunStatus",
]


class RunStatus(StrEnum):
    """Where a run stands."""

    SUBMITTED = "submitted"
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ApprovalStatus(StrEnum):
    """State of an approval request. ``pending`` and ``escalated`` are open."""

    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"
    EXPIRED = "expired"
    ESCALATED = "escalated"


OPEN_APPROVAL_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.ESCALATED)
