"""The approval HTTP API's bodies, shared by the server and :mod:`agentdeck.approval.client`."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ApprovalDetail",
    "ApprovalList",
    "ApprovalView",
    "DecisionBody",
    "DecisionResult",
    "ErrorBody",
    "VoteView",
]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True)


class ApprovalView(_Body):
    """An approval request as the queue lists it."""

    approval_id: str
    run_id: str | None
    step_id: str | None
    tenant: str
    tool: str
    summary: str
    risk_band: str
    requested_by: str
    approver_role: str
    escalated_to: str | None = Field(description="Second role that may decide, once escalated.")
    level: int
    quorum: int
    approvals: int = Field(description="Distinct approvals so far.")
    status: str
    deadline: AwareDatetime
    escalates_at: AwareDatetime | None


class VoteView(_Body):
    """One approver's verdict."""

    approver: str
    role: str
    verdict: str
    comment: str | None
    at: AwareDatetime


class ApprovalDetail(ApprovalView):
    """One approval request with everything an approver needs to decide."""

    decision_id: str
    payload_hash: str
    arguments_json: str | None
    reason: str
    votes: list[VoteView]
    decided_at: AwareDatetime | None


class ApprovalList(_Body):
    """The open approvals, most urgent first."""

    approvals: list[ApprovalView]


class DecisionBody(_Body):
    """What an approver sends with a verdict."""

    comment: str | None = Field(default=None, max_length=2000)


class DecisionResult(_Body):
    """What a verdict did: the case's status and, if it closed, the event published."""

    approval_id: str
    status: str
    approvals: int
    quorum: int
    event_id: str | None = Field(description="Id of the signed outcome event, once closed.")


class ErrorBody(_Body):
    """Every error the API returns."""

    error: str = Field(description="Stable machine-readable code.")
    message: str
    options: list[str] = Field(default_factory=list, description="What the caller can do.")
