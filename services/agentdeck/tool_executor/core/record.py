"""What the effect ledger keeps of a call, and the events rebuilt from it.

Every event the executor emits for a call is a function of the decision and
this record, with ids derived from the decision: re-emitting a stored call
after a crash or a redelivery yields byte-for-byte the same events, which
consumers drop as duplicates.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from agentdeck.contracts import ErrorInfo, Event, Producer, follow_up
from agentdeck.contracts.models import (
    PolicyDecided,
    Provenance,
    ToolCallCompleted,
    ToolCallFailed,
    ToolCallStarted,
)
from agentdeck.errors import ErrorCategory

__all__ = ["CallRecord", "Completion", "call_events", "started_event"]


class Completion(BaseModel):
    """A call's screened output and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    output_json: str
    output_hash: str
    cost_micros: int
    source: str
    tool_version: str
    flags: tuple[str, ...] = ()


class CallRecord(BaseModel):
    """The outcome of one call, as the ledger stores it (JSON).

    Attributes:
        started: Whether the tool was started (a ToolCallStarted was emitted).
        started_at: When the ledger recorded the start.
        finished_at: When the outcome was known.
        duration_ms: Wall time of the call, retries included.
        tries: Attempts made inside the executor (retries of retryable errors).
        completion: The output, for a completed call.
        failure: Why the call failed, otherwise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    started: bool
    started_at: AwareDatetime
    finished_at: AwareDatetime
    duration_ms: int = 0
    tries: int = 0
    completion: Completion | None = None
    failure: ErrorInfo | None = None


def started_event(
    decision: PolicyDecided, *, producer: Producer, executor: str, at: datetime
) -> ToolCallStarted:
    """The ToolCallStarted of the call ``decision`` authorised."""
    key = decision.idempotency_key or ""
    return ToolCallStarted(
        envelope=follow_up(
            decision, ToolCallStarted, producer=producer, occurred_at=at, discriminator=key
        ),
        tool=decision.tool,
        idempotency_key=key,
        decision_id=decision.decision_id,
        executor=executor,
        attempt=decision.attempt,
    )


def _finished(decision: PolicyDecided, record: CallRecord, producer: Producer) -> Event:
    key = decision.idempotency_key or ""
    at = record.finished_at
    done = record.completion
    if done is None:
        failure = record.failure or ErrorInfo(
            capability=f"tool.{decision.tool}",
            code="no_outcome",
            category=ErrorCategory.PERMANENT,
            retryable=False,
            message="the ledger holds no outcome for this call",
        )
        return ToolCallFailed(
            envelope=follow_up(
                decision, ToolCallFailed, producer=producer, occurred_at=at, discriminator=key
            ),
            tool=decision.tool,
            idempotency_key=key,
            failure=failure,
            duration_ms=record.duration_ms,
            attempt=decision.attempt,
        )
    return ToolCallCompleted(
        envelope=follow_up(
            decision, ToolCallCompleted, producer=producer, occurred_at=at, discriminator=key
        ),
        tool=decision.tool,
        idempotency_key=key,
        output_json=done.output_json,
        output_hash=done.output_hash,
        cost_micros=done.cost_micros,
        duration_ms=record.duration_ms,
        provenance=Provenance(source=done.source, fetched_at=at, tool_version=done.tool_version),
        screening_flags=done.flags,
    )


def call_events(
    decision: PolicyDecided, record: CallRecord, *, producer: Producer, executor: str
) -> list[Event]:
    """Every event of a finished call: ToolCallStarted if it started, then its outcome."""
    events: list[Event] = []
    if record.started:
        events.append(
            started_event(decision, producer=producer, executor=executor, at=record.started_at)
        )
    events.append(_finished(decision, record, producer))
    return events
