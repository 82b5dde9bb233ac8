"""What exactly each signature covers."""

from __future__ import annotations

from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    PolicyDecided,
)
from agentdeck.signing._keys import message

__all__ = [
    "APPROVAL_DOMAIN",
    "DECISION_DOMAIN",
    "ApprovalOutcome",
    "approval_message",
    "approval_outcome_message",
    "decision_message",
]

DECISION_DOMAIN = "agentdeck.decision.v1"
APPROVAL_DOMAIN = "agentdeck.approval.v1"

ApprovalOutcome = ApprovalGranted | ApprovalDenied | ApprovalExpired
"""The approval events the approval service signs."""


def decision_message(decision: PolicyDecided) -> bytes:
    """The bytes the policy-checker signs: which call, which outcome, until when, which policy.

    Covers the run, step, tool, arguments hash, idempotency key and attempt,
    so a decision cannot be moved to another call, and the expiry, so an old
    decision cannot be replayed indefinitely. From v3 on it also covers the
    verified principal (producer and requester), so neither can be swapped;
    a decision without one (recorded before v3) signs the fields it had.
    """
    env = decision.envelope
    expires = decision.expires_at.isoformat() if decision.expires_at else ""
    who = decision.principal
    principal = [who.producer, who.requested_by] if who is not None else []
    return message(
        DECISION_DOMAIN,
        [
            decision.decision_id,
            env.run_id or "",
            env.step_id or "",
            decision.tool,
            decision.arguments_hash,
            decision.outcome.value,
            decision.idempotency_key or "",
            str(decision.attempt),
            decision.bundle_digest,
            expires,
            *principal,
        ],
    )


def approval_message(approval_id: str, payload_hash: str, outcome: str, approver: str) -> bytes:
    """The bytes the approval service signs for a granted, denied or expired approval."""
    return message(APPROVAL_DOMAIN, [approval_id, payload_hash, outcome, approver])


def approval_outcome_message(event: ApprovalOutcome) -> bytes:
    """The bytes an approval outcome's signature covers: :func:`approval_message` of its fields.

    The outcome is ``granted`` or ``denied`` with the approver (a quorum's
    approvers joined by ``+``), or ``expired`` with no approver (the empty
    string). The approval service signs these bytes; the executor checks them.
    """
    if isinstance(event, ApprovalGranted):
        return approval_message(event.approval_id, event.payload_hash, "granted", event.approver)
    if isinstance(event, ApprovalDenied):
        return approval_message(event.approval_id, event.payload_hash, "denied", event.approver)
    return approval_message(event.approval_id, event.payload_hash, "expired", "")
