"""Building the planner's output events from a cause, with deterministic ids."""

from __future__ import annotations

from agentdeck.contracts import Envelope, Event, follow_up
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
    """The envelope of a planner event caused by ``cause`` in the run of ``state``."""
    env = follow_up(
        cause,
        event_type,
        producer=ctx.producer,
        occurred_at=ctx.now,
        step_id=step_id or "",
        discriminator=discriminator,
    )
    return env.model_copy(
        update={
            "run_id": state.run_id,
            "agent": state.agent,
            "tenant": state.tenant,
            "correlation_id": state.correlation_id,
            "step_id": step_id,
            "traceparent": env.traceparent or state.traceparent,
        }
    )
