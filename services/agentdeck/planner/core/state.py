"""The state of one run, as the planner folds it from events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentdeck.contracts import built, updated
from agentdeck.contracts.models import (
    ErrorInfo,
    Principal,
    RollbackOutcome,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunLimits,
    ToolCallRequested,
)

__all__ = [
    "IN_FLIGHT_STATES",
    "LlmConversation",
    "PlannedUndo",
    "RollbackPlan",
    "RunPhase",
    "RunState",
    "StepState",
    "StepStatus",
]


class StepStatus(StrEnum):
    """Where a step stands."""

    PENDING = "pending"
    REQUESTED = "requested"
    ALLOWED = "allowed"
    WAITING_APPROVAL = "waiting_approval"
    APPROVED = "approved"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


IN_FLIGHT_STATES = frozenset(
    {StepStatus.REQUESTED, StepStatus.ALLOWED, StepStatus.WAITING_APPROVAL, StepStatus.APPROVED}
)
"""Steps whose call was requested and has no result yet."""


class RunPhase(StrEnum):
    """Where the run stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class LlmConversation(BaseModel):
    """An LLM-planned run's conversation with its model."""

    model_config = ConfigDict(frozen=True)

    model: str
    messages: tuple[dict[str, Any], ...]
    """OpenAI chat messages, system prompt first."""
    turn: int = 0
    """Model calls made so far."""
    awaiting_model: bool = True
    """The next move is the model's: the planner asks it off the batch loop, and folds the
    recorded outcome (``LlmCallRecorded`` or ``LlmCallFailed``) when it comes back."""
    failed_attempts: int = 0
    """Failed attempts at this turn's call (a restart goes on from the next one)."""
    calls: dict[str, str] = {}
    """Step id -> the model's tool_call id, for the tool messages that answer it."""


class StepState(BaseModel):
    """One step of the run."""

    model_config = ConfigDict(frozen=True)

    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    request_id: str | None = None
    output: dict[str, Any] | None = None
    failure: ErrorInfo | None = None
    activated: bool = True
    """False for fallback-only steps until a failed step's ``goto`` names them."""
    tool: str | None = None
    """Tool of the step's last requested call (None until one is requested)."""
    arguments_json: str | None = None
    """Arguments of that call, as requested: what a rollback derives its compensation from."""
    request: ToolCallRequested | None = None
    """The step's request while it has no outcome: what a re-drive publishes again."""


class PlannedUndo(BaseModel):
    """One call of a run being rolled back, and what the rollback does about it."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    step_id: str
    tool: str
    idempotency_key: str
    compensation: str | None = None
    step: str | None = None
    """The rollback run's step that calls the compensation; None: the call is not compensated."""
    arguments: dict[str, Any] | None = None
    """The compensation's arguments, derived from the call's arguments and result."""
    outcome: RollbackOutcome | None = None
    """Settled when planned (no compensation to call); None: the step's result decides."""
    reason: str = ""
    """Why, for a settled outcome."""


class RollbackPlan(BaseModel):
    """What a rollback run undoes: every call of its targets, compensated ones first."""

    model_config = ConfigDict(frozen=True)

    targets: tuple[str, ...]
    """The runs rolled back, the most recently finished first."""
    reason: str
    calls: tuple[PlannedUndo, ...]


class RunState(BaseModel):
    """Everything the planner knows about a run; saved after every batch."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    tenant: str
    agent: str
    goal: str
    requested_by: str
    """Who the producer says asked for the goal (may not approve the run's calls)."""
    producer: str = ""
    """Registered producer whose signed goal started the run ("" in runs recorded before)."""
    inputs: dict[str, Any]
    playbook: str
    playbook_version: str
    limits: RunLimits
    correlation_id: str
    traceparent: str | None = None
    phase: RunPhase = RunPhase.RUNNING
    steps: dict[str, StepState]
    plan_version: int = 1
    steps_run: int = 0
    tool_calls: int = 0
    tokens: int = 0
    cost_micros: int = 0
    call_counts: dict[str, int] = {}
    """Loop detection: calls per tool-and-arguments hash."""
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    ended_with: RunCompleted | RunFailed | RunCancelled | None = None
    """The run's final event, published again until the archive holds it (see re-drive)."""
    llm: LlmConversation | None = None
    """For runs the LLM planner plans: the conversation so far."""
    completed: tuple[str, ...] = ()
    """Steps whose call completed, in the order they completed (what a rollback reverses)."""
    rollback: RollbackPlan | None = None
    """For rollback runs: the calls they undo."""

    def principal(self) -> Principal | None:
        """Who the run acts for, as verified at admission; None for runs recorded before."""
        if not self.producer:
            return None
        return _principal(self.producer, self.requested_by)

    def step(self, step_id: str) -> StepState:
        """The state of ``step_id``."""
        return self.steps[step_id]

    def with_step(
        self, step_id: str, run: Mapping[str, Any] | None = None, **changes: Any
    ) -> RunState:
        """A copy with ``step_id`` changed (and the run's fields in ``run``, in the same copy)."""
        return self.with_steps({step_id: changes}, run)

    def with_steps(
        self, changes: Mapping[str, Mapping[str, Any]], run: Mapping[str, Any] | None = None
    ) -> RunState:
        """A copy with each step of ``changes`` changed (and the run's fields in ``run``): one
        copy of the run however many steps change. The values are not validated again: they
        are of the fields' types (the states the planner reads back are validated then)."""
        steps = dict(self.steps)
        for step_id, changed in changes.items():
            steps[step_id] = updated(steps[step_id], changed)
        return updated(self, {**(run or {}), "steps": steps})

    def scope(self) -> dict[str, Any]:
        """What templates see."""
        return {
            "inputs": self.inputs,
            "goal": self.goal,
            "run": {"id": self.run_id, "tenant": self.tenant, "agent": self.agent},
            "steps": {
                k: {"status": s.status.value, "output": s.output or {}}
                for k, s in self.steps.items()
            },
        }


@lru_cache(maxsize=1024)
def _principal(producer: str, requested_by: str) -> Principal:
    """One immutable record for each principal: every request of a run names it."""
    return built(Principal, {"producer": producer, "requested_by": requested_by})
