"""Rolling runs back: the compensations of their completed calls, newest first, as a run.

An operator's ``RollbackRequested`` (``agentdeck rollback``) starts a rollback
run, an ordinary run of the same tenant and agent: its steps call, one after the
other, the compensation each completed WRITE call's tool contract names, with
arguments the contract derives from the call's arguments and result. Its calls
go through the policy-checker, approval and the executor like any other, so a
kill switch, a denial or an approver stops a compensation too.

Newest first, strictly: a compensation that is not undone (denied, failed) stops
the ones after it, so an earlier effect is never undone while a later one stands.
Every call of the targets is reported when the rollback run ends
(``RollbackReported``): undone, not undone and why (no compensation, denied,
failed, not attempted), or nothing to undo (it only read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agentdeck.contracts import Event, updated
from agentdeck.contracts import models as m
from agentdeck.hashing import canonical_json
from agentdeck.ids import idempotency_key_for
from agentdeck.planner.core._emit import envelope
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.playbook import OnFailure, Playbook, PlaybookStep
from agentdeck.planner.core.schedule import advance
from agentdeck.planner.core.state import (
    IN_FLIGHT_STATES,
    PlannedUndo,
    RollbackPlan,
    RunPhase,
    RunState,
    StepState,
    StepStatus,
)

__all__ = ["ROLLBACK", "noted", "rollback_playbook", "start_rollback"]

ROLLBACK = "rollback"
"""The playbook name rollback runs carry (their steps come from their plan, not a file)."""

_O = m.RollbackOutcome
Result = tuple[RunState, list[Event]]


def start_rollback(request: m.RollbackRequested, ctx: Context) -> Result:
    """The rollback run ``request`` starts: its plan, and its first compensation."""
    env = request.envelope
    targets = _ordered(request, ctx)
    plan = RollbackPlan(
        targets=tuple(t.run_id for t in targets) + _unknown(request, ctx),
        reason=request.reason,
        calls=tuple(_planned(request, targets, ctx)),
    )
    steps = [u for u in plan.calls if u.step is not None]
    state = RunState(
        run_id=env.run_id or env.event_id,
        tenant=env.tenant,
        agent=targets[0].agent if targets else env.agent or "operator",
        producer=request.requested_by,
        requested_by=request.requested_by,
        goal=f"roll back {', '.join(request.target_runs)}: {request.reason}",
        inputs={"target_runs": list(request.target_runs)},
        playbook=ROLLBACK,
        playbook_version="1",
        limits=m.RunLimits(),
        correlation_id=env.correlation_id,
        traceparent=env.traceparent,
        steps={u.step: StepState() for u in steps if u.step is not None},
        started_at=ctx.now,
        updated_at=ctx.now,
        rollback=plan,
    )
    playbook = rollback_playbook(state)
    from agentdeck.planner.core.start import planned_steps  # noqa: PLC0415 -- cycle

    started = m.RunStarted(
        envelope=envelope(request, m.RunStarted, state, ctx),
        planner=m.PlannerKind.PLAYBOOK,
        playbook=ROLLBACK,
        pinned_version=state.playbook_version,
        limits=state.limits,
        principal=state.principal(),
    )
    proposed = m.PlanProposed(
        envelope=envelope(request, m.PlanProposed, state, ctx, discriminator="1"),
        plan_version=1,
        source=f"{ROLLBACK}@{state.playbook_version}",
        steps=planned_steps(playbook.steps, ctx.templates),
        rationale=f"undo {len(steps)} of {len(plan.calls)} calls, newest first: {plan.reason}",
    )
    state, events = advance(state, playbook, request, ctx)
    return state, [started, proposed, *events]


def rollback_playbook(state: RunState) -> Playbook:
    """The rollback run's plan as a playbook: one compensation after the other."""
    steps: list[PlaybookStep] = []
    for undo in state.rollback.calls if state.rollback is not None else ():
        if undo.step is None or undo.compensation is None:
            continue  # settled when planned: nothing to call
        steps.append(
            PlaybookStep(
                id=undo.step,
                tool=undo.compensation,
                args=undo.arguments or {},
                depends_on=(steps[-1].id,) if steps else (),
                on_failure=OnFailure.CONTINUE,  # reported; the steps after it are skipped
            )
        )
    return Playbook(
        name=ROLLBACK, version=state.playbook_version, agent=state.agent, steps=tuple(steps)
    )


def _ordered(request: m.RollbackRequested, ctx: Context) -> list[RunState]:
    """The targets the planner knows, the most recently finished first."""
    known = [ctx.targets[t] for t in dict.fromkeys(request.target_runs) if t in ctx.targets]
    return sorted(known, key=lambda s: (s.finished_at or s.updated_at, s.run_id), reverse=True)


def _unknown(request: m.RollbackRequested, ctx: Context) -> tuple[str, ...]:
    return tuple(t for t in dict.fromkeys(request.target_runs) if t not in ctx.targets)


def _planned(
    request: m.RollbackRequested, targets: list[RunState], ctx: Context
) -> Iterator[PlannedUndo]:
    """Every call of the targets, newest completed first, each compensated or settled."""
    tenant = request.envelope.tenant
    n = 0
    for run_id in _unknown(request, ctx):
        yield PlannedUndo(
            run_id=run_id,
            step_id="",
            tool="",
            idempotency_key="",
            outcome=_O.NOT_UNDONE,
            reason=f"the planner knows no run {run_id} (of any tenant)",
        )
    for target in targets:
        for step_id in _calls(target):
            undo = _undo(target, step_id, ctx)
            if target.tenant != tenant:
                undo = _settled(undo, _O.NOT_UNDONE, f"run of tenant {target.tenant}, not {tenant}")
            elif target.phase is RunPhase.RUNNING:
                undo = _settled(undo, _O.NOT_UNDONE, "its run is still running: cancel it first")
            if undo.outcome is None:
                n += 1
                undo = undo.model_copy(update={"step": f"undo_{n}"})
            yield undo


def _calls(state: RunState) -> list[str]:
    """The steps that made a call: completed ones newest first, then the others in plan order."""
    others = [
        k
        for k, s in state.steps.items()
        if (s.tool is not None or s.status not in _NO_CALL) and k not in state.completed
    ]
    return [*reversed(state.completed), *others]


_NO_CALL = frozenset({StepStatus.PENDING, StepStatus.SKIPPED})


def _settled(undo: PlannedUndo, outcome: m.RollbackOutcome, reason: str) -> PlannedUndo:
    return updated(undo, {"outcome": outcome, "reason": reason, "arguments": None})


def _undo(state: RunState, step_id: str, ctx: Context) -> PlannedUndo:
    """What to do about one call of ``state``: its compensation, or why there is none."""
    step = state.steps[step_id]
    tool = step.tool or ""
    info = ctx.tools.get(tool)
    call = PlannedUndo(
        run_id=state.run_id,
        step_id=step_id,
        tool=tool,
        idempotency_key=idempotency_key_for(state.run_id, step_id, step.attempt),
        compensation=info.compensation if info is not None else None,
    )
    if step.tool is None:
        return _settled(
            call, _O.NOT_UNDONE, "recorded before rollbacks: its call is not in the planner's state"
        )
    if info is not None and info.side_effect is m.SideEffect.READ:
        return _settled(call, _O.NOTHING_TO_UNDO, f"{tool} only reads")
    if step.status is StepStatus.FAILED:
        code = step.failure.code if step.failure is not None else "failed"
        return _settled(
            call,
            _O.NOT_UNDONE,
            f"the call failed ({code}); whether it changed anything is in the effect ledger",
        )
    if step.status is not StepStatus.COMPLETED:
        return _settled(call, _O.NOT_UNDONE, f"the call has no result ({step.status.value})")
    if info is None:
        return _settled(call, _O.NOT_UNDONE, f"no tool {tool} is registered now")
    if info.compensation is None or info.compensation_args is None:
        kind = info.side_effect.value.lower()
        return _settled(call, _O.NOT_UNDONE, f"{tool} is {kind} and names no compensation")
    if info.compensation not in ctx.tools:
        return _settled(call, _O.NOT_UNDONE, f"its compensation {info.compensation} is unknown")
    try:
        arguments = info.compensation_args(
            json.loads(step.arguments_json or "{}"), step.output or {}
        )
    except ValueError as exc:
        return _settled(call, _O.NOT_UNDONE, f"{info.compensation}'s arguments: {exc}")
    if ctx.templates.templated(arguments):
        return _settled(call, _O.NOT_UNDONE, f"{info.compensation}'s arguments hold '{{{{'")
    return updated(call, {"arguments": json.loads(canonical_json(arguments))})


def noted(
    before: RunState | None, after: RunState, cause: Event, events: list[Event], ctx: Context
) -> Result:
    """``after`` with what re-drive and rollback need recorded (each step's call in flight,
    the order calls completed in, the final event); a rollback run that just ended reports
    before its final event."""
    changes: dict[str, dict[str, Any]] = {}
    for event in events:
        if type(event) is not m.ToolCallRequested:  # exact: event classes are never subclassed
            continue
        step = after.steps.get(event.envelope.step_id or "")
        # request_call records its own request; a model-planned call is recorded here.
        if step is not None and step.request is not event:
            changes[event.envelope.step_id or ""] = {
                "tool": event.tool,
                "arguments_json": event.arguments_json,
                "request": event,
            }
    ended = after.phase is not RunPhase.RUNNING
    earlier = before.steps if before is not None and not ended else {}
    for step_id, step in after.steps.items():
        if earlier.get(step_id) is step and step_id not in changes:
            continue  # unchanged (steps are immutable): its request was settled before
        settled = ended or step.status not in IN_FLIGHT_STATES
        if settled and (step.request is not None or "request" in changes.get(step_id, {})):
            changes.setdefault(step_id, {})["request"] = None
    run: dict[str, Any] = {}
    if type(cause) is m.ToolCallCompleted and before is not None:
        completed = cause.envelope.step_id or ""
        was, now = before.steps.get(completed), after.steps.get(completed)
        done = StepStatus.COMPLETED
        newly = completed and was and now and was.status is not done and now.status is done
        if newly and completed not in after.completed:  # a playbook's step records its own
            run["completed"] = (*after.completed, completed)
    if changes or run:
        after = after.with_steps(changes, run)
    running = before is None or before.phase is RunPhase.RUNNING
    if after.rollback is not None and running and after.phase is not RunPhase.RUNNING:
        at = next((i for i, e in enumerate(events) if type(e) in _FINAL), len(events))
        events = [*events[:at], _report(after, cause, ctx), *events[at:]]
    final = next((e for e in events if type(e) in _FINAL), None) if events else None
    if final is not None and after.ended_with is None:
        after = updated(after, {"ended_with": final})
    return after, events


_FINAL = frozenset({m.RunCompleted, m.RunFailed, m.RunCancelled})


def _report(state: RunState, cause: Event, ctx: Context) -> m.RollbackReported:
    plan = state.rollback
    assert plan is not None  # noqa: S101 -- a rollback run's
    calls = [_outcome(state, u) for u in plan.calls]
    return m.RollbackReported(
        envelope=envelope(cause, m.RollbackReported, state, ctx),
        target_runs=plan.targets,
        calls=tuple(calls),
        undone=sum(c.outcome is _O.UNDONE for c in calls),
        not_undone=sum(c.outcome is _O.NOT_UNDONE for c in calls),
    )


def _outcome(state: RunState, undo: PlannedUndo) -> m.RolledBackCall:
    outcome, reason = undo.outcome, undo.reason
    if outcome is None and undo.step is not None:
        outcome, reason = _stepped(state, undo)
    return m.RolledBackCall(
        run_id=undo.run_id,
        step_id=undo.step_id,
        tool=undo.tool,
        idempotency_key=undo.idempotency_key,
        outcome=outcome or _O.NOT_UNDONE,
        compensation=undo.compensation,
        compensation_step=undo.step,
        reason=reason,
    )


def _stepped(state: RunState, undo: PlannedUndo) -> tuple[m.RollbackOutcome, str]:
    step = state.steps[undo.step or ""]
    what = f"{undo.compensation} ({undo.step})"
    if step.status is StepStatus.COMPLETED:
        return _O.UNDONE, f"{what} completed"
    if step.status is StepStatus.FAILED and step.failure is not None:
        failure = step.failure
        verb = "denied" if failure.code == "policy_denied" else "failed"
        return _O.NOT_UNDONE, f"{what} {verb} ({failure.code}): {failure.message}"
    if step.status is StepStatus.SKIPPED:
        return _O.NOT_UNDONE, f"{what} not attempted: a newer call was not undone before it"
    return _O.NOT_UNDONE, f"{what} has no result: the rollback run ended {state.phase.value}"
