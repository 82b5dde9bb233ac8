"""Cancelling a run: an operator's RUN switch ends it; refusals because of it only wait for it.

An operator cancels a run by engaging a kill switch of scope RUN on its id
(``agentdeck cancel``). The planner follows the control topic, so it learns of
the cancellation even when nothing of the run is in flight (a run waiting for
an approval, say): it emits ``RunCancelled`` once and schedules nothing more.

The policy-checker, the executor and the approval service refuse the run's
calls because of the same switch, and those refusals may reach the planner
before the switch does (another topic, another partition). They say why
(``run_cancelled``), so the planner does not mistake them for a failure of the
run: the step is marked failed, nothing else happens, and the switch ends the run.
"""

from __future__ import annotations

from agentdeck.contracts import Event, updated
from agentdeck.contracts import models as m
from agentdeck.controls import RUN_CANCELLED, RUN_CANCELLED_POLICY
from agentdeck.planner.core._emit import envelope
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.state import RunPhase, RunState

__all__ = ["cancel_run", "cancelled_run_of", "refused_as_cancelled"]

Result = tuple[RunState, list[Event]]


def cancelled_run_of(event: Event) -> str | None:
    """The run ``event`` cancels, if it is an engaged RUN switch."""
    if (
        isinstance(event, m.KillSwitchSet)
        and event.scope is m.KillSwitchScope.RUN
        and event.engaged
    ):
        return event.target
    return None


def cancel_run(state: RunState, switch: m.KillSwitchSet, ctx: Context) -> Result:
    """End the running ``state`` as cancelled by ``switch`` (a finished run stays as it is)."""
    if state.phase is not RunPhase.RUNNING or cancelled_run_of(switch) != state.run_id:
        return state, []
    event = m.RunCancelled(
        envelope=envelope(switch, m.RunCancelled, state, ctx),
        reason=switch.reason,
        cancelled_by=switch.set_by,
    )
    done = updated(
        state, {"phase": RunPhase.CANCELLED, "finished_at": ctx.now, "updated_at": ctx.now}
    )
    return done, [event]


def refused_as_cancelled(event: Event) -> bool:
    """Whether ``event`` refuses a call because its run was cancelled."""
    # Exact types: the event classes are never subclassed.
    if type(event) is m.ToolCallFailed:
        return event.failure.code == RUN_CANCELLED
    if type(event) is m.PolicyDecided:
        denied = event.outcome is m.DecisionOutcome.DENY
        return denied and RUN_CANCELLED_POLICY in event.matched_policies
    return False
