"""What the effect ledger keeps of a call, and the event rebuilt from it.

The one event the executor emits for a call (its outcome) is a function of
the decision and this record, with ids derived from the decision:
re-emitting a stored call after a crash or a redelivery yields byte-for-byte
the same event, which consumers drop as a duplicate. That a call started is
kept in the ledger only (the write-before-run record); since the event model
v3 no ToolCallStarted goes on the wire.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from agentdeck.contracts import ErrorInfo, Event, Producer, follow_up
from agentdeck.contracts.models import (
    PolicyDecided,
    Provenance,
    ToolCallCompleted,
    ToolCallFailed,
)
from agentdeck.errors import ErrorCategory

__all__ = ["CallRecord", "Completion", "call_events"]


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
        started: Whether the tool was started.
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


def call_events(decision: PolicyDecided, record: CallRecord, *, producer: Producer) -> list[Event]:
    """The event of a finished call: its outcome (completed or failed)."""
    return [_finished(decision, record, producer)]
