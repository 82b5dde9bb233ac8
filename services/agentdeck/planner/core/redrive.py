"""Re-driving a stalled run: its requests that have no outcome yet are published again.

A run's next event may never come: a broker that lost its log (the embedded
one keeps it in memory) loses the requests, decisions and outcomes in flight
with it. The planner owns the run, so it is the one to notice: a run with a
call in flight and no progress for a while is re-driven by publishing the
call's request again, the same event with the same id. Every service
downstream suppresses the duplicate and re-emits what it already decided or
did for it (the policy-checker its journaled decision, the executor the
outcome in its effect ledger), so the run moves on and nothing happens twice.

A run that waits for its model and has heard nothing of the call for as
long is asked for again (the call was lost with the process that made it, or
with a partition moved to another replica). A call parked for a human is
re-driven too, ten times less often: its decision may have been lost before
the approval service read it, which then opens the case; a case it opened
already is not opened twice, and the approval service keeps its timers. A run's deadline is a timer
too: when it comes while the run waits, the planner publishes
``RunDeadlineReached`` for the run and, reading it like any input, ends the run
(so replay sees the same input and decides the same).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agentdeck.contracts import deterministic_id, envelope_for
from agentdeck.contracts.models import Producer, RunDeadlineReached, ToolCallRequested
from agentdeck.planner.core.llm import waits_for_model
from agentdeck.planner.core.state import RunPhase, RunState, StepStatus

__all__ = [
    "HUMAN_FACTOR",
    "REDRIVEN",
    "deadline_reached",
    "next_wake",
    "requests_to_redrive",
    "stalls_after",
    "wake_at",
]

ACTIVE = frozenset({StepStatus.REQUESTED, StepStatus.ALLOWED, StepStatus.APPROVED})
"""Step statuses of calls no human holds: a service owes the run their next event."""
REDRIVEN = ACTIVE | {StepStatus.WAITING_APPROVAL}
"""Step statuses whose request is published again when the run stalls."""
HUMAN_FACTOR = 10
"""A run whose only calls in flight wait for a human counts as stalled this many times later."""


def requests_to_redrive(state: RunState) -> list[ToolCallRequested]:
    """The requests of ``state``'s calls in flight, as first published."""
    if state.phase is not RunPhase.RUNNING:
        return []
    return [
        step.request
        for step in state.steps.values()
        if step.status in REDRIVEN and step.request is not None
    ]


def stalls_after(state: RunState, after: timedelta) -> timedelta | None:
    """How long without progress makes ``state`` stalled: ``after`` while a service owes it
    an event (a call or its model), ``HUMAN_FACTOR`` times that while only humans hold its
    calls; None when it cannot stall (it ended, or waits for nothing)."""
    if state.phase is not RunPhase.RUNNING:
        return None
    waiting = [s.status for s in state.steps.values() if s.request is not None]
    if any(status in ACTIVE for status in waiting) or waits_for_model(state):
        return after
    if StepStatus.WAITING_APPROVAL in waiting:
        return after * HUMAN_FACTOR
    return None


def wake_at(state: RunState, after: timedelta) -> datetime | None:
    """When the planner must look at ``state`` again if nothing happens to it: when it counts
    as stalled (a call or a model call in flight) or its deadline comes, whichever is first;
    None: never."""
    if state.phase is not RunPhase.RUNNING:
        # Ended: its final event is checked for in the archive (and published again if
        # it is not there) once the archive has had time to take it.
        return None if state.ended_with is None else state.updated_at + after
    stalled = stalls_after(state, after)
    times = [] if stalled is None else [state.updated_at + stalled]
    if state.limits.deadline is not None:
        times.append(state.limits.deadline)
    return min(times, default=None)


def next_wake(state: RunState, now: datetime, after: timedelta) -> datetime:
    """When to look at ``state`` again after re-driving it at ``now``: once more stalled, or
    at its deadline if that comes first."""
    stalled = stalls_after(state, after) or after
    deadline = state.limits.deadline
    wake = now + stalled
    return wake if deadline is None or deadline <= now else min(wake, deadline)


def deadline_reached(
    state: RunState, now: datetime, *, producer: Producer
) -> RunDeadlineReached | None:
    """The timer event that ends ``state`` at ``now``, if its deadline has come."""
    deadline = state.limits.deadline
    if state.phase is not RunPhase.RUNNING or deadline is None or now < deadline:
        return None
    return RunDeadlineReached(
        envelope=envelope_for(
            RunDeadlineReached,
            event_id=deterministic_id(state.run_id, "deadline", deadline.isoformat()),
            tenant=state.tenant,
            producer=producer,
            occurred_at=now,
            run_id=state.run_id,
            correlation_id=state.correlation_id,
            agent=state.agent,
            traceparent=state.traceparent,
        ),
        deadline=deadline,
    )
