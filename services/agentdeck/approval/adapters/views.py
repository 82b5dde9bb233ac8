"""How cases look on the API."""

from __future__ import annotations

from agentdeck.approval.api import ApprovalDetail, ApprovalView, VoteView
from agentdeck.approval.core import Case, Verdict, Vote

__all__ = ["approvals_of", "detail_of", "view_of"]


def approvals_of(case: Case) -> int:
    """Distinct approvals ``case`` has so far."""
    return sum(1 for v in case.votes if v.verdict is Verdict.APPROVE)


def view_of(case: Case) -> ApprovalView:
    """The queue's view of ``case``."""
    request, env = case.request, case.request.envelope
    return ApprovalView(
        approval_id=case.approval_id,
        run_id=env.run_id,
        step_id=env.step_id,
        tenant=env.tenant,
        tool=request.tool,
        summary=request.summary,
        risk_band=request.risk_band,
        requested_by=request.requested_by,
        approver_role=request.approver_role,
        escalated_to=case.escalate_to if case.level else None,
        level=case.level,
        quorum=request.quorum,
        approvals=approvals_of(case),
        status=case.status.value,
        deadline=case.deadline,
        escalates_at=case.escalate_at if case.level == 0 else None,
    )


def _vote(vote: Vote) -> VoteView:
    return VoteView(
        approver=vote.approver,
        role=vote.role,
        verdict=vote.verdict.value,
        comment=vote.comment,
        at=vote.at,
    )


def detail_of(case: Case) -> ApprovalDetail:
    """Everything about ``case``."""
    return ApprovalDetail(
        **view_of(case).model_dump(),
        decision_id=case.request.decision_id,
        payload_hash=case.request.payload_hash,
        arguments_json=case.arguments_json,
        reason=case.reason,
        votes=[_vote(v) for v in case.votes],
        decided_at=case.decided_at,
    )
