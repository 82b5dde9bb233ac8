"""The runs projection, folded from a run's events as telemetry archives them.

Telemetry reads every topic, so a run's events reach it in no set order across
topics (a step's request can come before the run's start). The fold is built
for that: counters add up in any order, a run's final event carries its
authoritative totals and freezes them, and the goal is taken from the event the
run started from whenever both have been seen. Only events the platform's own
services write count (the consumer refuses forged ones before they get here);
anything else is ignored and never creates a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from agentdeck.contracts import Event
from agentdeck.contracts import models as m

__all__ = ["FINAL_STATUSES", "RunRecord", "RunStatus", "fold_runs", "goal_of", "run_of"]

_MICROS = Decimal(1_000_000)


class RunStatus(StrEnum):
    """Where a run stands."""

    SUBMITTED = "submitted"
    QUEUED = "queued"
    """Admitted, and waiting: an operator paused new runs in its scope."""
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """The current state of one run.

    Attributes:
        run_id: The run's id.
        tenant: Tenant that owns the run.
        agent: Agent executing the run.
        status: Where the run stands.
        goal: The goal as archived (sealed under the run's subject key and bound
            to ``goal_event_id``); empty until the goal's event is seen.
        started_at: When the run started.
        updated_at: The time of the latest event folded in.
        playbook_version: ``name@version`` of the playbook, for playbook runs.
        planner_version: The model route the run is pinned to, for model-planned runs.
        finished_at: When the run reached a final status.
        steps: Steps scheduled so far.
        tool_calls: Tool calls requested so far, retries included.
        tokens: Model tokens used so far.
        cost: Money spent so far (USD).
        last_event_id: Id of the latest event folded in.
        goal_event_id: Id of the goal the run started from.
        open_approvals: Approvals requested and not yet decided.
    """

    run_id: str
    tenant: str
    agent: str
    status: RunStatus
    goal: str
    started_at: datetime
    updated_at: datetime
    playbook_version: str | None = None
    planner_version: str | None = None
    finished_at: datetime | None = None
    steps: int = 0
    tool_calls: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    last_event_id: str | None = None
    goal_event_id: str | None = None
    open_approvals: int = 0

    @property
    def final(self) -> bool:
        """Whether the run has ended (its totals no longer change)."""
        return self.status in FINAL_STATUSES


_FOLDED = (
    m.RunQueued,
    m.RunStarted,
    m.ToolCallRequested,
    m.ToolCallCompleted,
    m.ToolCallFailed,
    m.PolicyDecided,
    m.LlmCallRecorded,
    m.ApprovalRequested,
    m.ApprovalGranted,
    m.ApprovalDenied,
    m.ApprovalExpired,
    m.RunCompleted,
    m.RunFailed,
    m.RunCancelled,
)
_DECIDED = (m.ApprovalGranted, m.ApprovalDenied, m.ApprovalExpired)


def run_of(event: Event) -> str | None:
    """The run ``event`` changes in the projection, if any."""
    if isinstance(event, m.GoalSubmitted):
        return event.envelope.run_id or event.envelope.event_id
    return event.envelope.run_id if isinstance(event, _FOLDED) else None


def goal_of(event: Event) -> str | None:
    """The id of the goal a run started from, when ``event`` is the run's start."""
    return event.envelope.causation_id if isinstance(event, m.RunStarted) else None


def fold_runs(
    known: Mapping[str, RunRecord], events: Sequence[Event], goals: Mapping[str, str]
) -> dict[str, RunRecord]:
    """The runs ``events`` change, with those events folded in.

    Args:
        known: The stored rows of the runs ``events`` belong to.
        events: Events archived for the first time, in archive order.
        goals: Goals (as archived) by their event id, for the runs that start here.
    """
    goals = dict(goals)
    goals.update({e.envelope.event_id: e.goal for e in events if isinstance(e, m.GoalSubmitted)})
    changed: dict[str, RunRecord] = {}
    for event in events:
        run_id = run_of(event)
        if run_id is None:
            continue
        current = changed.get(run_id) or known.get(run_id)
        if isinstance(event, m.GoalSubmitted):
            if current is not None and current.goal_event_id == event.envelope.event_id:
                changed[run_id] = dataclasses.replace(current, goal=event.goal)
            continue
        base = current or _new(run_id, event)
        changed[run_id] = _touched(_apply(base, event, goals), event)
    return changed


def _new(run_id: str, event: Event) -> RunRecord:
    env = event.envelope
    return RunRecord(
        run_id=run_id,
        tenant=env.tenant,
        agent=env.agent or "",
        status=RunStatus.RUNNING,
        goal="",
        started_at=env.occurred_at,
        updated_at=env.occurred_at,
    )


def _touched(run: RunRecord, event: Event) -> RunRecord:
    at = event.envelope.occurred_at
    if at < run.updated_at:
        return run
    return dataclasses.replace(run, updated_at=at, last_event_id=event.envelope.event_id)


def _apply(run: RunRecord, event: Event, goals: Mapping[str, str]) -> RunRecord:
    if isinstance(event, m.RunStarted):
        return _started(run, event, goals)
    if isinstance(event, m.RunCompleted | m.RunFailed | m.RunCancelled):
        return _ended(run, event)
    if run.final:
        return run  # its final event carried the totals
    if isinstance(event, m.RunQueued):
        waits = run.goal_event_id is None  # not started yet (a start is never undone)
        return dataclasses.replace(run, status=RunStatus.QUEUED) if waits else run
    if isinstance(event, m.ToolCallRequested):
        return dataclasses.replace(
            run, steps=run.steps + (event.attempt == 1), tool_calls=run.tool_calls + 1
        )
    if isinstance(event, m.ToolCallCompleted):
        return dataclasses.replace(run, cost=run.cost + Decimal(event.cost_micros) / _MICROS)
    if isinstance(event, m.LlmCallRecorded):
        return dataclasses.replace(
            run,
            tokens=run.tokens + event.prompt_tokens + event.completion_tokens,
            cost=run.cost + Decimal(event.cost_micros) / _MICROS,
        )
    if isinstance(event, m.ApprovalRequested):
        return _waiting(run, run.open_approvals + 1)
    if isinstance(event, _DECIDED):
        return _waiting(run, run.open_approvals - 1)
    return run


def _started(run: RunRecord, event: m.RunStarted, goals: Mapping[str, str]) -> RunRecord:
    goal_id = event.envelope.causation_id
    playbook = event.planner is m.PlannerKind.PLAYBOOK
    return dataclasses.replace(
        run,
        status=RunStatus.RUNNING if run.status is RunStatus.QUEUED else run.status,
        agent=event.envelope.agent or run.agent,
        started_at=event.envelope.occurred_at,
        goal_event_id=goal_id,
        goal=goals.get(goal_id or "", run.goal),
        playbook_version=f"{event.playbook}@{event.pinned_version}" if playbook else None,
        planner_version=None if playbook else event.pinned_version,
    )


def _ended(run: RunRecord, event: m.RunCompleted | m.RunFailed | m.RunCancelled) -> RunRecord:
    at = event.envelope.occurred_at
    if isinstance(event, m.RunCancelled):
        return dataclasses.replace(run, status=RunStatus.CANCELLED, finished_at=at)
    totals = dataclasses.replace(
        run,
        finished_at=at,
        steps=event.steps,
        tool_calls=event.tool_calls,
        cost=Decimal(event.cost_micros) / _MICROS,
    )
    if isinstance(event, m.RunCompleted):
        return dataclasses.replace(totals, status=RunStatus.COMPLETED, tokens=event.tokens)
    return dataclasses.replace(totals, status=RunStatus.FAILED)


def _waiting(run: RunRecord, open_approvals: int) -> RunRecord:
    status = RunStatus.WAITING_APPROVAL if open_approvals > 0 else RunStatus.RUNNING
    return dataclasses.replace(run, open_approvals=open_approvals, status=status)
