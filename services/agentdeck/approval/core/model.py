"""The approval case: what a human is asked, who voted, where it stands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from agentdeck.contracts.models import ApprovalRequested

__all__ = [
    "DEFAULT_OUTCOME",
    "Approver",
    "Case",
    "CaseStatus",
    "Rules",
    "Verdict",
    "Vote",
]

DEFAULT_OUTCOME = "deny"
"""What happens when nobody decides before the deadline."""


class Verdict(StrEnum):
    """What one approver says."""

    APPROVE = "approve"
    DENY = "deny"


class CaseStatus(StrEnum):
    """Where a case stands; the same words as the store's approval status."""

    PENDING = "pending"
    ESCALATED = "escalated"
    GRANTED = "granted"
    DENIED = "denied"
    EXPIRED = "expired"


OPEN_STATUSES = frozenset({CaseStatus.PENDING, CaseStatus.ESCALATED})


class Approver(BaseModel):
    """An authenticated person and the one role they act in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: str


class Vote(BaseModel):
    """One approver's verdict on a case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approver: str
    role: str
    verdict: Verdict
    comment: str | None = None
    at: AwareDatetime


class Case(BaseModel):
    """One approval request and its history; the JSON the service keeps per approval.

    Attributes:
        request: The ApprovalRequested event that opened the case (ids, run, trace,
            tool, payload hash, risk band, role, quorum, final deadline).
        arguments_json: The exact arguments the approver is asked about.
        reason: The policy's reason for asking.
        escalate_at: When the case goes to ``escalate_to``; None if it never does.
        escalate_to: The next role of the escalation chain.
        level: 0, or 1 once escalated.
        escalated_at: When it was escalated.
        votes: Approvals so far (a denial closes the case at once).
        status: Where the case stands.
        decided_at: When it was closed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: ApprovalRequested
    arguments_json: str | None = None
    reason: str = ""
    escalate_at: AwareDatetime | None = None
    escalate_to: str | None = None
    level: int = 0
    escalated_at: AwareDatetime | None = None
    votes: tuple[Vote, ...] = ()
    status: CaseStatus = CaseStatus.PENDING
    decided_at: AwareDatetime | None = None

    @property
    def approval_id(self) -> str:
        """Id of the approval request."""
        return self.request.approval_id

    @property
    def deadline(self) -> datetime:
        """When the default outcome applies."""
        return self.request.deadline

    @property
    def is_open(self) -> bool:
        """Whether a decision can still be made."""
        return self.status in OPEN_STATUSES

    @property
    def eligible_roles(self) -> frozenset[str]:
        """Roles that may decide: the requested role, plus the escalation role once escalated."""
        roles = {self.request.approver_role}
        if self.level > 0 and self.escalate_to:
            roles.add(self.escalate_to)
        return frozenset(roles)

    @property
    def next_timer(self) -> datetime:
        """When the sweeper must look at the case next (escalation, else the deadline)."""
        if self.level == 0 and self.escalate_at is not None and self.escalate_to:
            return min(self.escalate_at, self.deadline)
        return self.deadline


@dataclass(frozen=True)
class Rules:
    """How cases are opened: deadlines, risk bands, roles, quorum, escalation.

    Attributes:
        deadline: Time from opening to the default outcome.
        escalate_after: Time from opening to escalation (ignored if not before the deadline).
        default_band: Risk band when neither the policy nor ``tool_bands`` names one.
        tool_bands: Risk band per tool.
        band_roles: Approver role per risk band.
        default_role: Approver role of a band missing from ``band_roles``.
        quorum: Distinct approvals needed per risk band (1 if absent).
        escalation_chain: Roles in escalation order; a case goes one step up.
        summary_max_chars: Longest summary shown to an approver.
    """

    deadline: timedelta
    escalate_after: timedelta
    default_band: str = "medium"
    tool_bands: Mapping[str, str] = field(default_factory=dict)
    band_roles: Mapping[str, str] = field(default_factory=dict)
    default_role: str = "approver"
    quorum: Mapping[str, int] = field(default_factory=dict)
    escalation_chain: tuple[str, ...] = ()
    summary_max_chars: int = 600
