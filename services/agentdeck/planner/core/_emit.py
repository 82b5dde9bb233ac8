"""Building the planner's output events from a cause, with deterministic ids."""

from __future__ import annotations

from agentdeck.contracts import Envelope, Event, built, deterministic_id
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.state import RunState

__all__ = ["envelope"]


def envelope(
    cause: Event,
    event_type: type[Event],
    state: RunState,
    ctx: Context,
    *,
    step_id: str | None = None,
    discriminator: str = "",
) -> Envelope:
    """The envelope of a planner event caused by ``cause`` in the run of ``state``.

    Its id is derived from the cause's id, the new type, the step and
    ``discriminator`` (as :func:`~agentdeck.contracts.follow_up` derives it), so
    reprocessing the cause reproduces the same id; the run's fields come from ``state``.
    Built from values already validated (the cause, the state, the context), not validated
    again.
    """
    cause_env = cause.envelope
    event_id = deterministic_id(
        cause_env.event_id, event_type.EVENT_TYPE, step_id or "", discriminator
    )
    return built(
        Envelope,
        {
            "event_id": event_id,
            "event_type": event_type.EVENT_TYPE,
            "schema_version": event_type.SCHEMA_VERSION,
            "run_id": state.run_id,
            "step_id": step_id,
            "causation_id": cause_env.event_id,
            "correlation_id": state.correlation_id,
            "tenant": state.tenant,
            "agent": state.agent,
            "producer": ctx.producer,
            "occurred_at": ctx.now,
            "traceparent": cause_env.traceparent or state.traceparent,
            "tracestate": cause_env.tracestate,
        },
    )
