"""Opening a case from a REQUIRE_APPROVAL decision.

Conventions (the decision carries no structured approval fields):

* **Requester**: who asked for the run's goal, as the decision's verified
  principal names them; for decisions recorded without one, the envelope's
  agent, or its tenant. Neither the requester nor the agent may decide.
* **Risk band**: a matched policy id ``risk:<band>`` wins; else the tool's band
  from the rules; else the default band.
* **Approver role**: a matched policy id ``approver:<role>`` wins; else the
  band's role from the rules.
* **Timers**: the deadline and the escalation point count from when the
  service opens the case.
"""

from __future__ import annotations

from datetime import datetime

from agentdeck.approval.core.model import DEFAULT_OUTCOME, Case, Rules
from agentdeck.approval.core.summary import summarize
from agentdeck.contracts import Producer, follow_up
from agentdeck.contracts.models import ApprovalRequested, DecisionOutcome, PolicyDecided
from agentdeck.errors import TerminalError
from agentdeck.hashing import sha256_hex
from agentdeck.signing import approval_id_problem

__all__ = [
    "InvalidDecision",
    "approval_id_of",
    "approver_role",
    "needs_case",
    "open_case",
    "requester",
    "risk_band",
]

_RISK_TAG = "risk:"
_ROLE_TAG = "approver:"


class InvalidDecision(TerminalError):
    """A REQUIRE_APPROVAL decision that cannot be shown to a human as it is."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(
            message,
            capability="approval.open",
            code=code,
            remediation=("fix the policy-checker's decision, then replay the dead letter",),
        )


def needs_case(decision: PolicyDecided) -> bool:
    """Whether the decision asks for a human (only REQUIRE_APPROVAL does)."""
    return decision.outcome is DecisionOutcome.REQUIRE_APPROVAL


def requester(decision: PolicyDecided) -> str:
    """Who asked for the call: the verified requester of the run's goal, else the agent, else
    the tenant (decisions recorded before they carried a principal)."""
    if decision.principal is not None:
        return decision.principal.requested_by
    return decision.envelope.agent or decision.envelope.tenant


def _tag(decision: PolicyDecided, prefix: str) -> str | None:
    for policy in decision.matched_policies:
        if policy.startswith(prefix) and len(policy) > len(prefix):
            return policy[len(prefix) :]
    return None


def risk_band(decision: PolicyDecided, rules: Rules) -> str:
    """The decision's risk band: policy tag, else the tool's band, else the default."""
    return _tag(decision, _RISK_TAG) or rules.tool_bands.get(decision.tool) or rules.default_band


def approver_role(decision: PolicyDecided, band: str, rules: Rules) -> str:
    """The role that must approve: policy tag, else the band's role, else the default."""
    return _tag(decision, _ROLE_TAG) or rules.band_roles.get(band) or rules.default_role


def _next_role(chain: tuple[str, ...], role: str) -> str | None:
    if role in chain:
        position = chain.index(role)
        return chain[position + 1] if position + 1 < len(chain) else None
    return chain[0] if chain else None


def approval_id_of(decision: PolicyDecided) -> str:
    """The approval id the decision opens: exactly the one bound to it, as the executor demands.

    Raises:
        InvalidDecision: ``approval_id_mismatch``, the decision names another
            approval id or none.
    """
    problem = approval_id_problem(decision)
    if problem is None and decision.approval_id is not None:
        return decision.approval_id
    why = problem or f"decision {decision.decision_id} asks for no approval"
    raise InvalidDecision(why, code="approval_id_mismatch")


def _check_arguments(decision: PolicyDecided) -> None:
    args = decision.arguments_json
    if args is not None and sha256_hex(args) != decision.arguments_hash:
        raise InvalidDecision(
            f"decision {decision.decision_id}: arguments do not match arguments_hash",
            code="arguments_hash_mismatch",
        )


def open_case(decision: PolicyDecided, rules: Rules, *, now: datetime, producer: Producer) -> Case:
    """The new case for a REQUIRE_APPROVAL decision, with its ApprovalRequested event.

    Raises:
        InvalidDecision: the approval id or the arguments do not match the decision.
    """
    approval_id = approval_id_of(decision)
    _check_arguments(decision)
    band = risk_band(decision, rules)
    role = approver_role(decision, band, rules)
    deadline = now + rules.deadline
    escalate_at: datetime | None = now + rules.escalate_after
    escalate_to = _next_role(rules.escalation_chain, role)
    if escalate_at is None or escalate_at >= deadline or escalate_to in {None, role}:
        escalate_at, escalate_to = None, None
    request = ApprovalRequested(
        envelope=follow_up(decision, ApprovalRequested, producer=producer, occurred_at=now),
        approval_id=approval_id,
        decision_id=decision.decision_id,
        tool=decision.tool,
        payload_hash=decision.arguments_hash,
        summary=summarize(
            decision, requested_by=requester(decision), limit=rules.summary_max_chars
        ),
        risk_band=band,
        requested_by=requester(decision),
        approver_role=role,
        quorum=max(1, rules.quorum.get(band, 1)),
        deadline=deadline,
        default_outcome=DEFAULT_OUTCOME,
    )
    return Case(
        request=request,
        arguments_json=decision.arguments_json,
        reason=decision.reason,
        escalate_at=escalate_at,
        escalate_to=escalate_to,
    )
