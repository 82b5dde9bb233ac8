"""What a decision must show before a service acts on it, checked the same way everywhere.

The executor, the approval service and the auditors' replay each trust a
policy decision only after these checks, so they refuse the same inputs.
"""

from __future__ import annotations

from agentdeck.contracts.models import DecisionOutcome, PolicyDecided
from agentdeck.ids import approval_id_for

__all__ = ["approval_id_problem", "bound_approval_id"]


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
