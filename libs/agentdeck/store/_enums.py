"""The closed sets of states kept in the store's tables."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
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
