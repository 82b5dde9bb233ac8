"""Which service may write which event, and the check every consumer loop makes.

An event that carries authority (a tool-call request, a decision, an approval
outcome, a run's start or end, a kill switch) is acted on only if its record
is signed by a key the writer registry gives to a service entitled to write
it. Anyone else who can write to the topic gets a dead letter, not a say.
Events that carry no authority of their own (scheduling, budgets, tool
results, model calls) are left to broker ACLs; signing every data-plane record
would cost more than the checks it buys (see docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.errors import ErrorCategory, TerminalError
from agentdeck.settings import WriterKey
from agentdeck.signing import Verifier, record_signature

__all__ = ["ENTITLED", "OPERATOR", "SIGNED", "EventAuthority", "WriterKey"]

OPERATOR = "operator"
"""The writer name of people operating the platform (kill switches, cancels, pauses, erasure,
rollbacks)."""

_PLANNER = frozenset({"planner"})
_APPROVAL = frozenset({"approval"})

ENTITLED: Mapping[type[Event], frozenset[str]] = {
    m.ToolCallRequested: _PLANNER,
    m.RunStarted: _PLANNER,
    m.RunCompleted: _PLANNER,
    m.RunFailed: _PLANNER,
    m.RunCancelled: _PLANNER,
    m.RunQueued: _PLANNER,
    m.RunDeadlineReached: _PLANNER,
    m.GoalRejected: _PLANNER,
    m.RollbackReported: _PLANNER,
    m.PolicyDecided: frozenset({"policy-checker"}),
    m.ApprovalRequested: _APPROVAL,
    m.ApprovalGranted: _APPROVAL,
    m.ApprovalDenied: _APPROVAL,
    m.ApprovalExpired: _APPROVAL,
    m.ApprovalEscalated: _APPROVAL,
    m.KillSwitchSet: frozenset({OPERATOR}),
    m.AdmissionSet: frozenset({OPERATOR}),
    m.SubjectErased: frozenset({OPERATOR}),
    m.RollbackRequested: frozenset({OPERATOR}),
}
"""Event type -> the writers (service names) that may publish it."""

SIGNED: frozenset[type[Event]] = frozenset({*ENTITLED, m.GoalSubmitted})
"""Events whose records a writer signs (goals are checked against the producer registry)."""


class EventAuthority:
    """Checks that an event's record is signed by a writer entitled to its type."""

    def __init__(self, writers: Mapping[str, WriterKey]) -> None:
        self._service = {key_id: w.service for key_id, w in writers.items()}
        self._verifier = Verifier({key_id: w.public_key for key_id, w in writers.items()})

    @staticmethod
    def needed_for(events: Sequence[type[Event]]) -> bool:
        """Whether a loop handling ``events`` (empty: every type) acts on authority."""
        return not events or any(e in ENTITLED for e in events)

    def refusal(
        self, event: Event, value: bytes, headers: Sequence[tuple[str, bytes | None]]
    ) -> TerminalError | None:
        """Why ``event`` may not be acted on; None if it carries no authority or is signed right."""
        entitled = ENTITLED.get(type(event))
        if entitled is None:
            return None
        kind = type(event).__name__
        writers = " or ".join(sorted(entitled))
        signature = record_signature(headers)
        if signature is None:
            return _refused("event_unsigned", f"{kind} record is not signed", writers)
        service = self._service.get(signature.key_id)
        if service is None or not self._verifier.verify(
            signature.key_id, value, signature.signature
        ):
            return _refused(
                "event_signature_invalid",
                f"{kind} record's signature does not verify with key {signature.key_id!r}",
                writers,
            )
        if service not in entitled:
            return _refused(
                "event_writer_not_entitled",
                f"{kind} signed by {service} (key {signature.key_id!r}); only {writers} may",
                writers,
            )
        return None


def _refused(code: str, message: str, writers: str) -> TerminalError:
    return TerminalError(
        message,
        capability="kafka.authority",
        code=code,
        category=ErrorCategory.POLICY,
        remediation=(
            f"only {writers} may publish this event, signed with a key in AGENTDECK_WRITER_KEYS",
            "if it is genuine, register the writer's key and redrive the dead letter",
        ),
    )
