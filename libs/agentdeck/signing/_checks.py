"""What a decision or an approval outcome must show before a service acts on it.

The executor, the approval service and the auditors' replay each trust a
policy decision (and the executor an approval outcome) only after these
checks, so they refuse the same inputs for the same reasons.
"""

from __future__ import annotations

from agentdeck.contracts.models import DecisionOutcome, PolicyDecided
from agentdeck.ids import approval_id_for
from agentdeck.signing._keys import Verifier
from agentdeck.signing._messages import ApprovalOutcome, approval_outcome_message, decision_message

__all__ = [
    "approval_id_problem",
    "approval_signature_problem",
    "bound_approval_id",
    "decision_signature_problem",
]


def decision_signature_problem(decision: PolicyDecided, keys: Verifier) -> str | None:
    """``unknown_key``, ``bad_signature``, or None if one of ``keys`` signed ``decision``.

    Args:
        decision: The decision, with the key id and signature it carries.
        keys: The policy-checker's public keys.
    """
    return keys.problem(decision.key_id, decision_message(decision), decision.signature)


def approval_signature_problem(event: ApprovalOutcome, keys: Verifier) -> str | None:
    """``unknown_key``, ``bad_signature``, or None if one of ``keys`` signed the outcome.

    Args:
        event: The granted, denied or expired approval.
        keys: The approval service's public keys.
    """
    return keys.problem(event.key_id, approval_outcome_message(event), event.signature)


def bound_approval_id(decision_id: str, outcome: DecisionOutcome) -> str | None:
    """The approval id a decision carries: derived from its id if it asks for approval, else none.

    The decision's signature does not cover the approval id; deriving it from
    the signed decision id is what binds the two, so a decision cannot be
    pointed at another decision's approval.
    """
    return approval_id_for(decision_id) if outcome is DecisionOutcome.REQUIRE_APPROVAL else None


def approval_id_problem(decision: PolicyDecided) -> str | None:
    """Why the decision's approval id is not the one bound to it, or None if it is.

    A REQUIRE_APPROVAL decision must name exactly its bound approval id (a
    missing one is refused too); any other decision must name none.
    """
    expected = bound_approval_id(decision.decision_id, decision.outcome)
    if decision.approval_id == expected:
        return None
    return (
        f"decision {decision.decision_id} ({decision.outcome.value}) names approval"
        f" {decision.approval_id!r}, not {expected!r}"
    )
