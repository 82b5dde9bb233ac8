"""The closed sets of states kept in the store's tables."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ApprovalStatus",
    "BeginStatus",
    "EffectStatus",
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


class EffectStatus(StrEnum):
    """State of one side effect in the effect ledger."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"


class BeginStatus(StrEnum):
    """What :meth:`EffectLedger.begin` tells its caller to do."""

    NEW = "new"
    """The key was unseen and is now recorded as started: perform the effect."""
    IN_PROGRESS_OR_UNKNOWN = "in_progress_or_unknown"
    """An earlier attempt started and never finished: reconcile, never repeat blindly."""
    COMPLETED = "completed"
    """The effect already happened; reuse the stored result."""
    FAILED = "failed"
    """The effect failed definitively; do not perform it again."""


class ApprovalStatus(StrEnum):
    """State of an approval request. ``pending`` and ``escalated`` are open."""

    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"
    EXPIRED = "expired"
    ESCALATED = "escalated"


OPEN_APPROVAL_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.ESCALATED)
