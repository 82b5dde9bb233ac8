"""The event of a decision: the signed PolicyDecided, with the budget it held and the spend it read.

Since the event model v3 the hold travels in the decision (``budget_scope``,
``budget_remaining_micros``); no BudgetReserved is published.
"""

from __future__ import annotations

from typing import Protocol

from agentdeck.contracts import Event, Producer, follow_up
from agentdeck.contracts.models import PolicyDecided, ToolCallRequested
from agentdeck.policy_checker.core.decide import DecisionRecord
from agentdeck.policy_checker.core.facts import parse_arguments
from agentdeck.signing import decision_message

__all__ = ["SigningKey", "events_for", "signed"]


class SigningKey(Protocol):
    """A private key that signs decisions (``agentdeck.signing.Signer``)."""

    @property
    def key_id(self) -> str:
        """Id the verifiers know the key by."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The signature of ``data``."""
        ...


def signed(decision: PolicyDecided, key: SigningKey) -> PolicyDecided:
    """``decision`` with ``key``'s signature over :func:`decision_message`."""
    unsigned = decision.model_copy(update={"key_id": key.key_id, "signature": b""})
    return unsigned.model_copy(update={"signature": key.sign(decision_message(unsigned))})


def events_for(
    record: DecisionRecord, request: ToolCallRequested, *, identity: Producer, key: SigningKey
) -> list[Event]:
    """The event of ``record``; the same record and request always give the same event."""
    arguments = parse_arguments(request)
    decision = PolicyDecided(
        envelope=follow_up(
            request, PolicyDecided, producer=identity, occurred_at=record.decided_at
        ),
        decision_id=record.decision_id,
        request_id=request.envelope.event_id,
        tool=request.tool,
        arguments_hash=request.arguments_hash,
        outcome=record.outcome,
        matched_policies=record.matched,
        reason=record.reason,
        bundle_version=record.bundle_version,
        bundle_digest=record.bundle_digest,
        reservation_id=record.hold.reservation_id if record.hold else None,
        key_id=key.key_id,
        signature=b"",
        arguments_json=arguments.canonical_json,
        idempotency_key=request.idempotency_key,
        side_effect=record.side_effect,
        tool_version=record.tool_version,
        max_cost_micros=record.max_cost_micros,
        attempt=request.attempt,
        expires_at=record.expires_at,
        approval_id=record.approval_id,
        principal=request.principal,
        budget_scope=record.hold.scope if record.hold else None,
        budget_remaining_micros=record.hold.remaining_micros if record.hold else None,
        run_spent_micros=record.run_spent_micros,
    )
    return [signed(decision, key)]
