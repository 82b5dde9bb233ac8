"""Starting a run from a goal: pin the playbook, propose the plan, request the first steps."""

from __future__ import annotations

import json
from collections.abc import Sequence

from agentdeck.contracts import Event, built, updated
from agentdeck.contracts import models as m
from agentdeck.errors import ErrorCategory, Failure, error_info
from agentdeck.hashing import canonical_json
from agentdeck.planner.core._emit import envelope
from agentdeck.planner.core.admission import (
    Admitted,
    Refused,
    check_agent,
    check_grant,
    goal_rejected,
)
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.llm import SYSTEM_PROMPT
from agentdeck.planner.core.pause import run_queued
from agentdeck.planner.core.playbook import Playbook, PlaybookStep
from agentdeck.planner.core.schedule import advance, fail_run
from agentdeck.planner.core.state import LlmConversation, RunState, StepState
from agentdeck.planner.core.templates import Templates

__all__ = ["LLM_AGENT", "planned_steps", "start_run"]

LLM_AGENT = "llm-agent"
"""The agent every model-planned run acts as."""


def planned_steps(steps: Sequence[PlaybookStep], templates: Templates) -> tuple[m.PlannedStep, ...]:
    """The plan as the PlanProposed event carries it (arguments still templated)."""
    return tuple(
        built(  # from the validated playbook
            m.PlannedStep,
            {
                "step_id": s.id,
                "tool": s.tool,
                "arguments_json": templates.written(s.args)[0],
                "depends_on": s.depends_on,
                "condition": s.when,
            },
        )
        for s in steps
    )


_PENDING = StepState()
_FALLBACK = StepState(activated=False)
"""A step's state before anything happened to it (states are immutable: shared)."""


def _initial(
    goal: m.GoalSubmitted, playbook: Playbook, inputs: dict[str, object], ctx: Context
) -> RunState:
    env = goal.envelope
    return built(  # from validated parts: the goal, the playbook, the context
        RunState,
        {
            "run_id": env.run_id or env.event_id,
            "tenant": env.tenant,
            "agent": playbook.agent,
            "producer": ctx.admission.producer_id if isinstance(ctx.admission, Admitted) else "",
            "goal": goal.goal,
            "requested_by": goal.requested_by,
            "inputs": inputs,
            "playbook": playbook.name,
            "playbook_version": playbook.version,
            "limits": goal.limits,
            "correlation_id": env.correlation_id,
            "traceparent": env.traceparent,
            "steps": {s.id: _FALLBACK if s.only_as_fallback else _PENDING for s in playbook.steps},
            "started_at": ctx.now,
            "updated_at": ctx.now,
        },
    )


def _refused(goal: m.GoalSubmitted, ctx: Context, agent: str | None = None) -> list[Event] | None:
    """The GoalRejected of a goal that may not start (as ``agent``); None if it may."""
    admission = ctx.admission
    refused: Refused | None = None
    if isinstance(admission, Refused):
        refused = admission
    elif isinstance(admission, Admitted):
        refused = (
            check_grant(goal, admission) if agent is None else check_agent(goal, admission, agent)
        )
    if refused is None:
        return None
    return [goal_rejected(goal, refused, producer=ctx.producer, now=ctx.now)]


def _queued(goal: m.GoalSubmitted, ctx: Context, agent: str) -> list[Event] | None:
    """The RunQueued of an admitted goal whose scope is paused; None if it may start now."""
    pause = ctx.pauses.covering(goal.envelope.tenant, agent) if ctx.pauses else None
    if pause is None:
        return None
    return [run_queued(goal, agent, pause, producer=ctx.producer, now=ctx.now)]


def start_run(goal: m.GoalSubmitted, ctx: Context) -> tuple[RunState | None, list[Event]]:
    """The run a goal starts, its failure if it cannot be planned, its refusal, or its wait.

    A refused goal (unauthenticated, or outside its producer's grant) gives no
    state at all: it starts, fails and touches no run. Neither does a goal
    whose scope an operator paused: it gives RunQueued, and waits.
    """
    rejected = _refused(goal, ctx)
    if rejected is not None:
        return None, rejected
    try:
        inputs = json.loads(goal.inputs_json)
    except ValueError as exc:
        return _reject(goal, "invalid_inputs", f"inputs_json: {exc}", ctx)
    if not isinstance(inputs, dict):
        return _reject(goal, "invalid_inputs", "inputs_json must be a JSON object", ctx)
    if goal.playbook is None:
        if ctx.model_for is None:
            return _reject(
                goal,
                "no_planner",
                "the goal names no playbook and no LLM planner is configured",
                ctx,
            )
        rejected = _refused(goal, ctx, LLM_AGENT) or _queued(goal, ctx, LLM_AGENT)
        if rejected is not None:
            return None, rejected
        return _start_llm_run(goal, inputs, ctx.model_for(goal), ctx)
    try:
        playbook = ctx.playbooks.get(goal.playbook, goal.playbook_version)
    except Failure as exc:
        return _rejected_by(goal, exc, ctx)
    rejected = _refused(goal, ctx, playbook.agent) or _queued(goal, ctx, playbook.agent)
    if rejected is not None:
        return None, rejected
    state = _initial(goal, playbook, inputs, ctx)
    started = built(
        m.RunStarted,
        {
            "envelope": envelope(goal, m.RunStarted, state, ctx),
            "planner": m.PlannerKind.PLAYBOOK,
            "playbook": playbook.name,
            "pinned_version": playbook.version,
            "limits": goal.limits,
            "principal": state.principal(),
        },
    )
    active = [s for s in playbook.steps if not s.only_as_fallback]
    plan = built(
        m.PlanProposed,
        {
            "envelope": envelope(goal, m.PlanProposed, state, ctx, discriminator="1"),
            "plan_version": 1,
            "source": f"{playbook.name}@{playbook.version}",
            "steps": planned_steps(active, ctx.templates),
            "rationale": playbook.description or None,
        },
    )
    state, events = advance(state, playbook, goal, ctx)
    return state, [started, plan, *events]


def _reject(
    goal: m.GoalSubmitted, code: str, message: str, ctx: Context
) -> tuple[RunState | None, list[Event]]:
    failure = m.ErrorInfo(
        capability="planner.start",
        code=code,
        category=ErrorCategory.VALIDATION,
        retryable=False,
        message=message,
        remediation=("fix the goal and submit it again",),
    )
    return _failed_at_start(goal, failure, ctx)


def _rejected_by(
    goal: m.GoalSubmitted, exc: Failure, ctx: Context
) -> tuple[RunState | None, list[Event]]:
    return _failed_at_start(goal, error_info(exc), ctx)


def _failed_at_start(
    goal: m.GoalSubmitted, failure: m.ErrorInfo, ctx: Context
) -> tuple[RunState | None, list[Event]]:
    empty = Playbook(name="none", version="0", steps=())
    state = _initial(goal, empty, {}, ctx)
    return fail_run(state, goal, failure, ctx)


def _start_llm_run(
    goal: m.GoalSubmitted, inputs: dict[str, object], model: str, ctx: Context
) -> tuple[RunState | None, list[Event]]:
    """A run the model plans: the conversation starts with the goal and its inputs."""
    llm_book = Playbook(name="llm", version=model, steps=(), agent=LLM_AGENT)
    state = _initial(goal, llm_book, inputs, ctx)
    user = f"Goal: {goal.goal}\nInputs: {canonical_json(inputs)}"
    conversation = LlmConversation(
        model=model,
        messages=({"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}),
    )
    state = updated(state, {"llm": conversation})
    started = m.RunStarted(
        envelope=envelope(goal, m.RunStarted, state, ctx),
        planner=m.PlannerKind.LLM,
        playbook=None,
        pinned_version=model,
        limits=goal.limits,
        principal=state.principal(),
    )
    return state, [started]
