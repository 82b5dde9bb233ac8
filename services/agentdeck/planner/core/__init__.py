"""The planner's pure core: playbooks, run state, and the decisions that move a run."""

from __future__ import annotations

from agentdeck.planner.core.context import Context, PlaybookSource, ToolInfo
from agentdeck.planner.core.decide import MODEL_OUTCOMES, RELEVANT, decide
from agentdeck.planner.core.playbook import OnFailure, Playbook, PlaybookStep, Trigger
from agentdeck.planner.core.state import RunPhase, RunState, StepState, StepStatus
from agentdeck.planner.core.templates import TemplateFailed, Templates

__all__ = [
    "MODEL_OUTCOMES",
    "RELEVANT",
    "Context",
    "OnFailure",
    "Playbook",
    "PlaybookSource",
    "PlaybookStep",
    "RunPhase",
    "RunState",
    "StepState",
    "StepStatus",
    "TemplateFailed",
    "Templates",
    "ToolInfo",
    "Trigger",
    "decide",
]
