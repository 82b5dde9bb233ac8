"""The planner's decisions: ``decide(state, event, ctx) -> (state, events)``.

Pure: the same state, event and context always give the same result, so a
run can be replayed by folding its recorded events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentdeck.contracts import Event, updated
from agentdeck.contracts import models as m
from agentdeck.controls import RUN_CANCELLED
from agentdeck.errors import ErrorCategory
from agentdeck.ids import idempotency_key_for
from agentdeck.planner.core._emit import envelope
from agentdeck.planner.core.cancel import cancel_run, refused_as_cancelled
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.limits import deadline_passed
from agentdeck.planner.core.llm import on_model_answer, on_model_failure
from agentdeck.planner.core.llm_react import react_llm
from agentdeck.planner.core.playbook import OnFailure, Playbook
from agentdeck.planner.core.rollback import noted, rollback_playbook, start_rollback
from agentdeck.planner.core.schedule import IN_FLIGHT, advance, fail_run, request_call
from agentdeck.planner.core.start import start_run
from agentdeck.planner.core.state import RunPhase, RunState, StepState, StepStatus

__all__ = ["MODEL_OUTCOMES", "RELEVANT", "decide"]

Result = tuple[RunState | None, list[Event]]


def decide(state: RunState | None, event: Event, ctx: Context) -> Result:
    """React to one event of a run."""
    after, events = _decide(state, event, ctx)
    if after is None or after is state:
        return after, events
    return noted(state, after, event, events, ctx)


def _decide(state: RunState | None, event: Event, ctx: Context) -> Result:
    # A step's outcome (most of what a run's log holds) first, by its exact type: the event
    # classes are generated, never subclassed.
    react = _REACTIONS.get(type(event))
    if react is None:
        return _run_event(state, event, ctx)
    if state is None or state.phase is not RunPhase.RUNNING:
        return state, []
    step_id = event.envelope.step_id
    if step_id is None or step_id not in state.steps:
        return state, []
    if refused_as_cancelled(event):
        return _awaiting_cancel(state, step_id, event), []
    if state.llm is not None:
        return react_llm(state, step_id, event, ctx)
    if state.rollback is not None:
        playbook = rollback_playbook(state)
    else:
        playbook = ctx.playbooks.get(state.playbook, state.playbook_version)
    return react(state, playbook, step_id, event, ctx)


def _run_event(state: RunState | None, event: Event, ctx: Context) -> Result:
    """An event about the whole run: a goal, a rollback, a switch, a deadline, a model's turn."""
    # Exact types: an isinstance check that fails goes through the models' metaclass.
    if type(event) is m.GoalSubmitted:
        return (state, []) if state is not None else start_run(event, ctx)
    if type(event) is m.RollbackRequested:
        return (state, []) if state is not None else start_rollback(event, ctx)
    if state is None or state.phase is not RunPhase.RUNNING:
        return state, []
    if type(event) is m.KillSwitchSet:
        return cancel_run(state, event, ctx)
    if type(event) is m.RunDeadlineReached:
        late = deadline_passed(state, ctx.now)
        return (state, []) if late is None else fail_run(state, event, late, ctx)
    if type(event) is m.LlmCallRecorded:
        return on_model_answer(state, event, ctx) if state.llm else (state, [])
    if type(event) is m.LlmCallFailed:
        return on_model_failure(state, event, ctx) if state.llm else (state, [])
    return state, []


def _awaiting_cancel(state: RunState, step_id: str, event: Event) -> RunState:
    """The step refused because the run was cancelled: failed, and the run waits for the switch."""
    if state.step(step_id).status not in IN_FLIGHT:
        return state
    if isinstance(event, m.ToolCallFailed):
        failure = event.failure
    elif isinstance(event, m.PolicyDecided):
        failure = m.ErrorInfo(
            capability=f"policy.{event.tool}",
            code=RUN_CANCELLED,
            category=ErrorCategory.POLICY,
            retryable=False,
            message=event.reason,
            remediation=("submit the goal again if it is still wanted",),
        )
    else:
        return state
    return state.with_step(step_id, status=StepStatus.FAILED, failure=failure)


def _decided(state: RunState, playbook: Playbook, step_id: str, event: Any, ctx: Context) -> Result:
    step = state.step(step_id)
    if step.status is not StepStatus.REQUESTED or event.request_id != step.request_id:
        return state, []
    if event.outcome is m.DecisionOutcome.ALLOW:
        return state.with_step(step_id, status=StepStatus.ALLOWED), []
    if event.outcome is m.DecisionOutcome.REQUIRE_APPROVAL:
        return state.with_step(step_id, status=StepStatus.WAITING_APPROVAL), []
    failure = m.ErrorInfo(
        capability=f"policy.{event.tool}",
        code="policy_denied",
        category=ErrorCategory.POLICY,
        retryable=False,
        message=event.reason,
        remediation=("change the request", "ask for a policy exception"),
    )
    return _step_failed(state, playbook, step_id, failure, cause=event, ctx=ctx)


def _granted(state: RunState, _pb: Playbook, step_id: str, _event: Any, _ctx: Context) -> Result:
    if state.step(step_id).status is not StepStatus.WAITING_APPROVAL:
        return state, []
    return state.with_step(step_id, status=StepStatus.APPROVED), []


def _refused(state: RunState, playbook: Playbook, step_id: str, event: Any, ctx: Context) -> Result:
    if state.step(step_id).status is not StepStatus.WAITING_APPROVAL:
        return state, []
    expired = isinstance(event, m.ApprovalExpired)
    who = "nobody decided before the deadline" if expired else f"denied by {event.approver}"
    failure = m.ErrorInfo(
        capability="approval",
        code="approval_expired" if expired else "approval_denied",
        category=ErrorCategory.POLICY,
        retryable=False,
        message=f"step {step_id} was not approved: {who}",
        remediation=("submit the goal again with a smaller request",),
    )
    return _step_failed(state, playbook, step_id, failure, cause=event, ctx=ctx)


def _completed(
    state: RunState, playbook: Playbook, step_id: str, event: Any, ctx: Context
) -> Result:
    step = state.step(step_id)
    if step.status not in IN_FLIGHT or not _current(state, step_id, step, event.idempotency_key):
        return state, []
    output = _output(event.output_json)
    run = {
        "cost_micros": state.cost_micros + event.cost_micros,
        "updated_at": ctx.now,
        "completed": (*state.completed, step_id),  # what noted would record, in this copy
    }
    changes = {"status": StepStatus.COMPLETED, "output": output, "request": None}
    return advance(state.with_step(step_id, run, **changes), playbook, event, ctx)


def _failed(state: RunState, playbook: Playbook, step_id: str, event: Any, ctx: Context) -> Result:
    step = state.step(step_id)
    if step.status not in IN_FLIGHT or not _current(state, step_id, step, event.idempotency_key):
        return state, []
    spec = playbook.step(step_id)
    if event.failure.retryable and step.attempt < spec.max_attempts:
        return request_call(state, spec, step.attempt + 1, event, ctx)
    return _step_failed(state, playbook, step_id, event.failure, cause=event, ctx=ctx)


def _step_failed(
    state: RunState,
    playbook: Playbook,
    step_id: str,
    failure: m.ErrorInfo,
    *,
    cause: Event,
    ctx: Context,
) -> Result:
    spec = playbook.step(step_id)
    state = state.with_step(step_id, status=StepStatus.FAILED, failure=failure)
    if spec.on_failure is OnFailure.FAIL:
        return fail_run(state, cause, failure, ctx)
    if spec.on_failure is OnFailure.ESCALATE:
        return fail_run(
            state,
            cause,
            failure.model_copy(
                update={
                    "code": "escalated",
                    "retryable": False,
                    "message": f"step {step_id} failed and needs a human: {failure.message}",
                    "remediation": ("a human completes the run", *failure.remediation),
                }
            ),
            ctx,
        )
    events: list[Event] = []
    if spec.on_failure is OnFailure.GOTO and spec.fallback is not None:
        state = state.with_step(spec.fallback, activated=True)
        state = updated(state, {"plan_version": state.plan_version + 1})
        events.append(
            _replanned(
                state,
                playbook=playbook,
                failed=step_id,
                fallback=spec.fallback,
                failure=failure,
                cause=cause,
                ctx=ctx,
            )
        )
    state, more = advance(state, playbook, cause, ctx)
    return state, events + more


def _replanned(
    state: RunState,
    *,
    playbook: Playbook,
    failed: str,
    fallback: str,
    failure: m.ErrorInfo,
    cause: Event,
    ctx: Context,
) -> m.PlanProposed:
    from agentdeck.planner.core.start import planned_steps  # noqa: PLC0415 -- cycle

    active = [s for s in playbook.steps if state.step(s.id).activated]
    return m.PlanProposed(
        envelope=envelope(cause, m.PlanProposed, state, ctx, discriminator=str(state.plan_version)),
        plan_version=state.plan_version,
        source=f"{playbook.name}@{playbook.version}",
        steps=planned_steps(active, ctx.templates),
        rationale=f"step {failed} failed ({failure.code}: {failure.message}); running {fallback}",
    )


def _current(state: RunState, step_id: str, step: StepState, key: str) -> bool:
    """Whether ``key`` is the effect key of the current attempt of ``step`` (``step_id``)."""
    request = step.request  # in flight: it carries the key (derived as below)
    if request is not None and request.attempt == step.attempt:
        return key == request.idempotency_key
    return key == idempotency_key_for(state.run_id, step_id, step.attempt)


def _output(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


_REACTIONS: dict[type[Event], Callable[..., Result]] = {
    m.PolicyDecided: _decided,
    m.ApprovalGranted: _granted,
    m.ApprovalDenied: _refused,
    m.ApprovalExpired: _refused,
    m.ToolCallCompleted: _completed,
    m.ToolCallFailed: _failed,
}

MODEL_OUTCOMES: tuple[type[Event], ...] = (m.LlmCallRecorded, m.LlmCallFailed)
"""What the planner's own model calls, made off the batch loop, come back as."""

RELEVANT: tuple[type[Event], ...] = (
    m.GoalSubmitted,
    m.RollbackRequested,
    *_REACTIONS,
    m.KillSwitchSet,
    m.RunDeadlineReached,
    *MODEL_OUTCOMES,
)
"""The event types the planner acts on; others on its topics are ignored.

Of the kill switches only a run's own (scope RUN, engaged) does anything: it cancels the run.
"""
