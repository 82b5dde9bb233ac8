"""How an LLM-planned run reacts to decisions, approvals and results: it tells the model."""

from __future__ import annotations

from typing import Any

from agentdeck.contracts import Event, updated
from agentdeck.contracts import models as m
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.llm import answer_tool_message
from agentdeck.planner.core.state import IN_FLIGHT_STATES, RunState, StepStatus

__all__ = ["react_llm"]

Result = tuple[RunState, list[Event]]


def react_llm(state: RunState, step_id: str, event: Any, ctx: Context) -> Result:
    """Update the step; when its outcome is known, add it to the conversation."""
    step = state.step(step_id)
    if step.status not in IN_FLIGHT_STATES:
        return state, []
    if isinstance(event, m.PolicyDecided):
        if event.request_id != step.request_id:
            return state, []
        if event.outcome is m.DecisionOutcome.ALLOW:
            return state.with_step(step_id, status=StepStatus.ALLOWED), []
        if event.outcome is m.DecisionOutcome.REQUIRE_APPROVAL:
            return state.with_step(step_id, status=StepStatus.WAITING_APPROVAL), []
        return _told(state, step_id, StepStatus.FAILED, f"denied by policy: {event.reason}", ctx)
    if isinstance(event, m.ApprovalGranted):
        return state.with_step(step_id, status=StepStatus.APPROVED), []
    if isinstance(event, m.ApprovalDenied | m.ApprovalExpired):
        return _told(state, step_id, StepStatus.FAILED, "a human did not approve this call", ctx)
    if isinstance(event, m.ToolCallCompleted):
        state = updated(state, {"cost_micros": state.cost_micros + event.cost_micros})
        return _told(state, step_id, StepStatus.COMPLETED, event.output_json, ctx)
    if isinstance(event, m.ToolCallFailed):
        f = event.failure
        text = f"failed: {f.code} ({f.category}, retryable={f.retryable}): {f.message}"
        return _told(state, step_id, StepStatus.FAILED, text, ctx)
    return state, []


def _told(state: RunState, step_id: str, status: StepStatus, content: str, ctx: Context) -> Result:
    state = state.with_step(step_id, status=status)
    state = answer_tool_message(state, step_id, content)
    return updated(state, {"updated_at": ctx.now}), []
