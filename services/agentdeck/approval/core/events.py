"""The events a case's outcome publishes, signed by the approval service.

Each signature covers :func:`agentdeck.signing.approval_outcome_message` of
the event: the approval id, the payload hash, the outcome (``granted``,
``denied`` or ``expired``) and the approver. A quorum grant names every
approver, in the order they approved, joined by ``+``; an expiry has no
approver (the empty string). The executor checks the same bytes. Ed25519
signatures are deterministic, so rebuilding an event reproduces it bit for bit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from agentdeck.approval.core.model import Case, CaseStatus, Verdict
from agentdeck.contracts import Producer, follow_up
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalEscalated,
    ApprovalExpired,
    ApprovalGranted,
)
from agentdeck.signing import ApprovalOutcome, approval_outcome_message

__all__ = [
    "OutcomeEvent",
    "SignerPort",
    "escalated_event",
    "outcome_event",
]

OutcomeEvent = ApprovalOutcome

_JOIN = "+"


class SignerPort(Protocol):
    """Signs bytes with the approval service's key."""

    @property
    def key_id(self) -> str:
        """Id of the key, named in every signed event."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The signature of ``data``."""
        ...


def _comment(case: Case, verdict: Verdict) -> str | None:
    votes = [v for v in case.votes if v.verdict is verdict and v.comment]
    if len(votes) == 1:
        return votes[0].comment
    return "; ".join(f"{v.approver}: {v.comment}" for v in votes) or None


def _expired(case: Case, signer: SignerPort, producer: Producer, at: datetime) -> OutcomeEvent:
    request = case.request
    return ApprovalExpired(
        envelope=follow_up(request, ApprovalExpired, producer=producer, occurred_at=at),
        approval_id=case.approval_id,
        payload_hash=request.payload_hash,
        outcome=request.default_outcome,
        key_id=signer.key_id,
        signature=b"",
    )


def _denied(case: Case, signer: SignerPort, producer: Producer, at: datetime) -> OutcomeEvent:
    request, denier = case.request, case.votes[-1]
    return ApprovalDenied(
        envelope=follow_up(request, ApprovalDenied, producer=producer, occurred_at=at),
        approval_id=case.approval_id,
        payload_hash=request.payload_hash,
        approver=denier.approver,
        approver_role=denier.role,
        comment=denier.comment,
        key_id=signer.key_id,
        signature=b"",
    )


def _granted(case: Case, signer: SignerPort, producer: Producer, at: datetime) -> OutcomeEvent:
    request = case.request
    approvals = [v for v in case.votes if v.verdict is Verdict.APPROVE]
    return ApprovalGranted(
        envelope=follow_up(request, ApprovalGranted, producer=producer, occurred_at=at),
        approval_id=case.approval_id,
        payload_hash=request.payload_hash,
        approver=_JOIN.join(v.approver for v in approvals),
        approver_role=_JOIN.join(v.role for v in approvals),
        comment=_comment(case, Verdict.APPROVE),
        key_id=signer.key_id,
        signature=b"",
    )


_BUILDERS = {CaseStatus.EXPIRED: _expired, CaseStatus.DENIED: _denied, CaseStatus.GRANTED: _granted}


def outcome_event(case: Case, signer: SignerPort, producer: Producer) -> OutcomeEvent:
    """The signed event of a closed case (granted, denied or expired).

    Raises:
        ValueError: the case is still open.
    """
    build = _BUILDERS.get(case.status)
    if build is None or case.decided_at is None:
        raise ValueError(f"case {case.approval_id} is not closed")
    unsigned = build(case, signer, producer, case.decided_at)
    return unsigned.model_copy(
        update={"signature": signer.sign(approval_outcome_message(unsigned))}
    )


def escalated_event(case: Case, producer: Producer) -> ApprovalEscalated:
    """The event of a case that went one level up (its id names the level).

    Raises:
        ValueError: the case was not escalated.
    """
    if case.level == 0 or case.escalated_at is None or not case.escalate_to:
        raise ValueError(f"case {case.approval_id} was not escalated")
    return ApprovalEscalated(
        envelope=follow_up(
            case.request,
            ApprovalEscalated,
            producer=producer,
            occurred_at=case.escalated_at,
            discriminator=str(case.level),
        ),
        approval_id=case.approval_id,
        level=case.level,
        escalated_to=case.escalate_to,
        new_deadline=case.deadline,
    )
