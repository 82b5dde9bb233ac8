"""The metrics that matter weekly, from the facts of finished runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agentdeck.contracts import Event
from agentdeck.contracts import models as m

__all__ = ["RunFacts", "WeeklyMetrics", "facts_of", "weekly_metrics"]


@dataclass(frozen=True)
class RunFacts:
    """What one finished run contributes to the metrics."""

    status: str
    """completed, failed or cancelled."""
    cost_micros: int
    tool_calls: int
    escalated: bool
    """A human was asked: an approval was requested or the run was escalated."""
    silent_failure: bool
    """It completed, yet a step failed and the run went on without it."""


@dataclass(frozen=True)
class WeeklyMetrics:
    """Completion rate, cost per completion, tool calls per task, escalation and silent failure."""

    runs: int
    completion_rate: float
    cost_per_completion_usd: float
    tool_calls_per_task: float
    escalation_rate: float
    silent_failure_rate: float


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def weekly_metrics(runs: Iterable[RunFacts]) -> WeeklyMetrics:
    """The five weekly metrics over finished runs."""
    facts = list(runs)
    completed = [f for f in facts if f.status == "completed"]
    return WeeklyMetrics(
        runs=len(facts),
        completion_rate=_ratio(len(completed), len(facts)),
        cost_per_completion_usd=_ratio(sum(f.cost_micros for f in facts), len(completed)) / 1e6,
        tool_calls_per_task=_ratio(sum(f.tool_calls for f in facts), len(facts)),
        escalation_rate=_ratio(sum(f.escalated for f in facts), len(facts)),
        silent_failure_rate=_ratio(sum(f.silent_failure for f in completed), len(completed)),
    )


_FINAL = {"RunCompleted": "completed", "RunFailed": "failed", "RunCancelled": "cancelled"}


def facts_of(events: Iterable[Event]) -> RunFacts | None:
    """The facts of one run from its events, or None while it is not finished."""
    final: Event | None = None
    escalated = False
    failed_steps: set[str] = set()
    for event in events:
        name = type(event).__name__
        step = event.envelope.step_id or ""
        if name in _FINAL:
            final = event
        escalated |= name == "ApprovalRequested"
        if isinstance(event, m.ToolCallFailed) or (
            isinstance(event, m.PolicyDecided) and event.outcome is m.DecisionOutcome.DENY
        ):
            failed_steps.add(step)
        elif isinstance(event, m.ToolCallCompleted):
            failed_steps.discard(step)
    if final is None:
        return None
    status = _FINAL[type(final).__name__]
    if isinstance(final, m.RunFailed):
        escalated |= final.failure.code == "escalated"
    return RunFacts(
        status=status,
        cost_micros=getattr(final, "cost_micros", 0),
        tool_calls=getattr(final, "tool_calls", 0),
        escalated=escalated,
        silent_failure=status == "completed" and bool(failed_steps),
    )
