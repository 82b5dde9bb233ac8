"""Topic names, partition counts, and which event goes to which topic.

The one place topic names are spelled. Every deployment prefixes them
(``KAFKA_TOPIC_PREFIX``, default ``agentdeck``) so several stacks, or tests,
share a cluster without seeing each other's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agentdeck.contracts import Event
from agentdeck.contracts import models as m

__all__ = ["ROUTES", "Topic", "TopicSpec", "topic_for", "topic_specs"]


class Topic(StrEnum):
    """Logical topics; the full name is ``<prefix>.<value>``."""

    GOALS = "goals"
    RUNS = "runs"
    TOOL_CALLS = "tool-calls"
    DECISIONS = "decisions"
    APPROVALS = "approvals"
    TOOL_RESULTS = "tool-results"
    CONTROL = "control"
    DEAD_LETTERS = "dead-letters"

    def full(self, prefix: str) -> str:
        """The topic's name on the broker."""
        return f"{prefix}.{self.value}"


@dataclass(frozen=True)
class TopicSpec:
    """How a topic is created."""

    name: str
    partitions: int
    compacted: bool = False


_PARTITIONS = {Topic.CONTROL: 1, Topic.DEAD_LETTERS: 1}

ROUTES: dict[type[Event], Topic] = {
    m.GoalSubmitted: Topic.GOALS,
    m.RunDeadlineReached: Topic.GOALS,
    m.RollbackRequested: Topic.GOALS,
    **dict.fromkeys(
        (
            m.GoalRejected,
            m.RunStarted,
            m.RunCompleted,
            m.RunFailed,
            m.RunCancelled,
            m.RunQueued,
            m.RollbackReported,
            m.PlanProposed,
            m.StepScheduled,
            m.LlmCallRecorded,
            m.LlmCallFailed,
        ),
        Topic.RUNS,
    ),
    m.ToolCallRequested: Topic.TOOL_CALLS,
    **dict.fromkeys((m.PolicyDecided, m.BudgetReserved, m.BudgetSettled), Topic.DECISIONS),
    **dict.fromkeys(
        (
            m.ApprovalRequested,
            m.ApprovalGranted,
            m.ApprovalDenied,
            m.ApprovalExpired,
            m.ApprovalEscalated,
        ),
        Topic.APPROVALS,
    ),
    **dict.fromkeys((m.ToolCallStarted, m.ToolCallCompleted, m.ToolCallFailed), Topic.TOOL_RESULTS),
    m.KillSwitchSet: Topic.CONTROL,
    m.AdmissionSet: Topic.CONTROL,
    m.SubjectErased: Topic.CONTROL,
    m.DeadLettered: Topic.DEAD_LETTERS,
}


def topic_for(event: Event | type[Event]) -> Topic:
    """The topic an event (or event type) is published to."""
    return ROUTES[event if isinstance(event, type) else type(event)]


def topic_specs(prefix: str, partitions: int) -> list[TopicSpec]:
    """Every topic of a deployment; data topics get ``partitions`` partitions."""
    return [
        TopicSpec(t.full(prefix), _PARTITIONS.get(t, partitions), compacted=t is Topic.CONTROL)
        for t in Topic
    ]
