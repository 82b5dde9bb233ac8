"""Playbooks: versioned SOPs a run follows, step by step."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["OnFailure", "Playbook", "PlaybookStep", "Trigger"]


class OnFailure(StrEnum):
    """What a step's failure does to the run."""

    FAIL = "fail"
    """Stop the run with the step's failure."""
    CONTINUE = "continue"
    """Record the failure and go on with the steps that do not depend on it."""
    ESCALATE = "escalate"
    """Stop the run and hand it to a human, with the failure and the options."""
    GOTO = "goto"
    """Re-plan: run the step named in ``fallback`` instead."""


class Trigger(StrEnum):
    """When a step with dependencies may run (the trigger rules of workflow engines)."""

    ALL_SUCCESS = "all_success"
    """Every dependency completed; one skipped or failed skips this step too (the default:
    a step never acts on what did not happen)."""
    NONE_FAILED = "none_failed"
    """Every dependency completed or was skipped; a failed one still skips this step."""


class PlaybookStep(BaseModel):
    """One step: a tool call with templated arguments, ordering, a condition and a fallback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    trigger: Trigger = Trigger.ALL_SUCCESS
    """What the dependencies must have done for this step to run."""
    when: str | None = None
    """A template expression; the step is skipped when it is false."""
    on_failure: OnFailure = OnFailure.FAIL
    fallback: str | None = None
    """For ``on_failure: goto``: the step that runs instead."""
    max_attempts: int = Field(default=2, ge=1)
    """Attempts for failures the executor reports as retryable."""
    only_as_fallback: bool = False
    """Runs only when a failed step's ``goto`` names it."""


class Playbook(BaseModel):
    """A versioned SOP: its steps form a DAG; ``output`` is templated from the results."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str
    description: str = ""
    agent: str = "agent"
    steps: tuple[PlaybookStep, ...]
    output: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _a_dag(self) -> Playbook:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        for step in self.steps:
            unknown = set(step.depends_on) - set(ids)
            if unknown:
                raise ValueError(f"step {step.id} depends on unknown {sorted(unknown)}")
            if step.on_failure is OnFailure.GOTO and step.fallback not in ids:
                raise ValueError(f"step {step.id} needs a fallback step that exists")
        self._check_acyclic()
        return self

    def _check_acyclic(self) -> None:
        deps = {s.id: set(s.depends_on) for s in self.steps}
        done: set[str] = set()
        while deps:
            ready = [step for step, needs in deps.items() if needs <= done]
            if not ready:
                raise ValueError(f"steps {sorted(deps)} form a cycle")
            for step in ready:
                done.add(step)
                del deps[step]

    def step(self, step_id: str) -> PlaybookStep:
        """The step called ``step_id``."""
        return next(s for s in self.steps if s.id == step_id)
