"""Moving a run forward: request ready steps, finish or fail the run."""

from __future__ import annotations

from collections.abc import Mapping

from agentdeck.contracts import Event, built, updated
from agentdeck.contracts.models import (
    ErrorInfo,
    RunCompleted,
    RunFailed,
    ToolCallRequested,
)
from agentdeck.errors import ErrorCategory, Failure, error_info
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.ids import idempotency_key_for
from agentdeck.planner.core._emit import envelope
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.limits import limit_breached
from agentdeck.planner.core.playbook import Playbook, PlaybookStep, Trigger
from agentdeck.planner.core.state import RunPhase, RunState, StepState, StepStatus

__all__ = ["IN_FLIGHT", "advance", "fail_run", "request_call"]

IN_FLIGHT = {
    StepStatus.REQUESTED,
    StepStatus.ALLOWED,
    StepStatus.WAITING_APPROVAL,
    StepStatus.APPROVED,
}
_DONE = {StepStatus.COMPLETED, StepStatus.SKIPPED}

Result = tuple[RunState, list[Event]]


def fail_run(state: RunState, cause: Event, failure: ErrorInfo, ctx: Context) -> Result:
    """Stop the run with ``failure``."""
    event = RunFailed(
        envelope=envelope(cause, RunFailed, state, ctx),
        failure=failure,
        steps=state.steps_run,
        tool_calls=state.tool_calls,
        cost_micros=state.cost_micros,
    )
    done = updated(state, {"phase": RunPhase.FAILED, "finished_at": ctx.now, "updated_at": ctx.now})
    return done, [event]


def request_call(
    state: RunState, step: PlaybookStep, attempt: int, cause: Event, ctx: Context
) -> Result:
    """Emit the ToolCallRequested of ``step`` (scheduling and request in one), within the limits."""
    info = ctx.tools.get(step.tool)
    if info is None:
        return fail_run(
            state,
            cause,
            ErrorInfo(
                capability="planner.plan",
                code="unknown_tool",
                category=ErrorCategory.VALIDATION,
                retryable=False,
                message=f"step {step.id} calls unknown tool {step.tool!r}",
                remediation=(f"known tools: {', '.join(sorted(ctx.tools))}",),
            ),
            ctx,
        )
    literal = ctx.templates.literal(step.args)
    if literal is None:
        try:
            args = ctx.templates.resolve(step.args, state.scope(), f"step {step.id} arguments")
            arguments = canonical_json(args)
        except Failure as exc:
            return fail_run(state, cause, error_info(exc), ctx)
        digest = sha256_hex(arguments)
    else:
        arguments, digest = literal
    call_key = f"{step.tool}:{digest}"
    breach = limit_breached(
        state,
        call_key=call_key,
        max_cost_micros=info.max_cost_micros,
        new_step=attempt == 1,
        now=ctx.now,
    )
    if breach is not None:
        return fail_run(state, cause, breach, ctx)
    disc = str(attempt)
    request = built(  # from validated parts: the state, the playbook, the tool's contract
        ToolCallRequested,
        {
            "envelope": envelope(
                cause, ToolCallRequested, state, ctx, step_id=step.id, discriminator=disc
            ),
            "tool": step.tool,
            "tool_version": info.version,
            "arguments_json": arguments,
            "arguments_hash": digest,
            "idempotency_key": idempotency_key_for(state.run_id, step.id, attempt),
            "side_effect": info.side_effect,
            "max_cost_micros": info.max_cost_micros,
            "attempt": attempt,
            "principal": state.principal(),
        },
    )
    counts = dict(state.call_counts)
    counts[call_key] = counts.get(call_key, 0) + 1
    run = {
        "steps_run": state.steps_run + (attempt == 1),
        "tool_calls": state.tool_calls + 1,
        "call_counts": counts,
        "updated_at": ctx.now,
    }
    state = state.with_step(
        step.id,
        run,
        status=StepStatus.REQUESTED,
        attempt=attempt,
        request_id=request.envelope.event_id,
        tool=request.tool,
        arguments_json=request.arguments_json,
        request=request,
    )
    return state, [request]


def _ready(steps: Mapping[str, StepState], step: PlaybookStep) -> bool | None:
    """True: may run; False: can never run (a dependency failed, or was skipped and the
    step's trigger wants every dependency completed); None: not yet."""
    ready: bool | None = True
    for dependency in step.depends_on:
        status = steps[dependency].status
        if status is StepStatus.FAILED:
            return False
        if status is StepStatus.SKIPPED and step.trigger is Trigger.ALL_SUCCESS:
            return False
        if status not in _DONE:
            ready = None
    return ready


def advance(state: RunState, playbook: Playbook, cause: Event, ctx: Context) -> Result:
    """Request every step that became ready; complete the run when nothing is left."""
    events: list[Event] = []
    again = True
    while again and state.phase is RunPhase.RUNNING:
        # Only a skipped step can make a step looked at earlier ready (it counts as done
        # for its dependents); a requested one cannot, so a pass without skips is the last.
        again = False
        steps = state.steps  # read once per state: a model's attribute read is slow
        for step in playbook.steps:
            current = steps[step.id]
            if current.status is not StepStatus.PENDING or not current.activated:
                continue
            ready = _ready(steps, step)
            if ready is None:
                continue
            try:
                runs = ready and (
                    step.when is None
                    or ctx.templates.holds(step.when, state.scope(), f"step {step.id} condition")
                )
            except Failure as exc:
                state, more = fail_run(state, cause, error_info(exc), ctx)
                return state, events + more
            if not runs:
                state = state.with_step(step.id, status=StepStatus.SKIPPED)
                steps = state.steps
                again = True
                continue
            state, more = request_call(state, step, 1, cause, ctx)
            steps = state.steps
            events += more
    if state.phase is RunPhase.RUNNING and _finished(state):
        state, more = _complete(state, playbook, cause, ctx)
        events += more
    return state, events


def _finished(state: RunState) -> bool:
    for step in state.steps.values():  # a loop, not any(): run after every step's outcome
        status = step.status
        if status in IN_FLIGHT or (status is StepStatus.PENDING and step.activated):
            return False
    return True


def _complete(state: RunState, playbook: Playbook, cause: Event, ctx: Context) -> Result:
    try:
        output = ctx.templates.resolve(playbook.output, state.scope(), "playbook output")
    except Failure as exc:
        return fail_run(state, cause, error_info(exc), ctx)
    event = RunCompleted(
        envelope=envelope(cause, RunCompleted, state, ctx),
        output_json=canonical_json(output),
        steps=state.steps_run,
        tool_calls=state.tool_calls,
        tokens=state.tokens,
        cost_micros=state.cost_micros,
    )
    done = updated(
        state, {"phase": RunPhase.COMPLETED, "finished_at": ctx.now, "updated_at": ctx.now}
    )
    return done, [event]
