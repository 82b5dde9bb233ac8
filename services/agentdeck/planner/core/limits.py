"""A run's hard limits, checked before every tool call."""

from __future__ import annotations

from datetime import datetime

from agentdeck.contracts.models import ErrorInfo
from agentdeck.errors import ErrorCategory
from agentdeck.planner.core.state import RunState

__all__ = ["deadline_passed", "limit_breached"]


def _breach(code: str, message: str, *options: str) -> ErrorInfo:
    return ErrorInfo(
        capability="planner.limits",
        code=code,
        category=ErrorCategory.POLICY,
        retryable=False,
        message=message,
        remediation=options,
    )


def deadline_passed(state: RunState, now: datetime) -> ErrorInfo | None:
    """Why the run must stop at ``now`` because its deadline passed; None if it has not."""
    deadline = state.limits.deadline
    if deadline is None or now < deadline:
        return None
    return _breach(
        "deadline_exceeded",
        f"the run's deadline {deadline} has passed",
        "submit the goal again with a later deadline",
    )


def limit_breached(
    state: RunState, *, call_key: str, max_cost_micros: int, new_step: bool, now: datetime
) -> ErrorInfo | None:
    """The limit one more call would break, or None if the call may go ahead."""
    limits = state.limits
    if limits.deadline is not None and now > limits.deadline:
        return deadline_passed(state, now)
    if new_step and state.steps_run + 1 > limits.max_steps:
        return _breach(
            "max_steps_exceeded",
            f"more than {limits.max_steps} steps",
            "raise max_steps for this goal",
        )
    if state.tool_calls + 1 > limits.max_tool_calls:
        return _breach(
            "max_tool_calls_exceeded",
            f"more than {limits.max_tool_calls} tool calls",
            "raise max_tool_calls for this goal",
        )
    repeats = state.call_counts.get(call_key, 0) + 1
    if repeats > limits.max_repeats:
        return _breach(
            "loop_detected",
            f"the same tool call with the same arguments {repeats} "
            f"times (limit {limits.max_repeats})",
            "inspect the run for a planning loop",
            "raise max_repeats",
        )
    if state.cost_micros + max_cost_micros > limits.max_cost_micros:
        spent = state.cost_micros / 1e6
        return _breach(
            "budget_exceeded",
            f"${spent:.2f} spent; the next call may cost "
            f"${max_cost_micros / 1e6:.2f}, over the run's "
            f"${limits.max_cost_micros / 1e6:.2f} limit",
            "raise max_cost_micros for this goal",
        )
    if state.tokens > limits.max_tokens:
        return _breach(
            "max_tokens_exceeded",
            f"{state.tokens} tokens used, limit {limits.max_tokens}",
            "raise max_tokens for this goal",
        )
    return None
