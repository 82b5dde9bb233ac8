"""Re-driving a stalled run: its requests that have no outcome yet are published again.

A run's next event may never come: a broker that lost its log (the embedded
one keeps it in memory) loses the requests, decisions and outcomes in flight
with it. The planner owns the run, so it is the one to notice: a run with a
call in flight and no progress for a while is re-driven by publishing the
call's request again, the same event with the same id. Every service
downstream suppresses the duplicate and re-emits what it already decided or
did for it (the policy-checker its journaled decision, the executor the
outcome in its effect ledger), so the run moves on and nothing happens twice.

Calls waiting for a human are left alone: the approval service keeps their
timers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agentdeck.contracts.models import ToolCallRequested
from agentdeck.planner.core.state import RunPhase, RunState, StepStatus

__all__ = ["REDRIVEN", "requests_to_redrive", "wake_at"]

REDRIVEN = frozenset({StepStatus.REQUESTED, StepStatus.ALLOWED, StepStatus.APPROVED})
"""Step statuses whose request is published again when the run stalls."""


def requests_to_redrive(state: RunState) -> list[ToolCallRequested]:
    """The requests of ``state``'s calls in flight that no human holds, as first published."""
    if state.phase is not RunPhase.RUNNING:
        return []
    return [
        step.request
        for step in state.steps.values()
        if step.status in REDRIVEN and step.request is not None
    ]


def wake_at(state: RunState, after: timedelta) -> datetime | None:
    """When ``state`` counts as stalled if nothing happens to it: None if nothing is in flight."""
    if not requests_to_redrive(state):
        return None
    return state.updated_at + after
