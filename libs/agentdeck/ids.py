"""Deterministic ids that several services must derive the same way.

Every id here is a uuid5 of what it stands for, so a service that handles
the same input twice (after a crash, in replay) derives the same ids and its
outputs are recognised as duplicates.
"""

from __future__ import annotations

from collections.abc import Collection

from agentdeck.contracts import deterministic_id

__all__ = [
    "approval_id_for",
    "decision_id_for",
    "idempotency_key_for",
    "reservation_id_for",
    "rollback_run_id_for",
]


def idempotency_key_for(run_id: str, step_id: str, attempt: int) -> str:
    """Effect-ledger key of one attempt of one step's tool call."""
    return deterministic_id("effect", run_id, step_id, str(attempt))


def decision_id_for(request_event_id: str) -> str:
    """Id of the policy decision on one ToolCallRequested."""
    return deterministic_id("decision", request_event_id)


def approval_id_for(decision_id: str) -> str:
    """Id of the approval request a REQUIRE_APPROVAL decision opens."""
    return deterministic_id("approval", decision_id)


def reservation_id_for(decision_id: str) -> str:
    """Id of the budget reservation held for an allowed call."""
    return deterministic_id("reservation", decision_id)


def rollback_run_id_for(target_runs: Collection[str]) -> str:
    """Id of the run that rolls ``target_runs`` back: asking twice names the same run."""
    return "rollback-" + deterministic_id("rollback", *sorted(set(target_runs)))
